//! Twin pair `events` (cairn side of `events.js`): a function fed by a queue that is
//! subscribed to a topic, allowed to read a bucket and publish to the topic.

use std::time::Duration;

use cairn::lambda::{Code, Function, FunctionProps, Runtime, SqsEventSource};
use cairn::s3::{Bucket, BucketProps};
use cairn::sns::{Subscriber, SubscriptionProps, Topic, TopicProps};
use cairn::sqs::{Queue, QueueProps};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("Events")?;

    let uploads = Bucket::new(&mut app, stack, "Uploads", BucketProps::default())?;
    let jobs = Queue::new(
        &mut app,
        stack,
        "Jobs",
        QueueProps {
            visibility_timeout: Some(Duration::from_secs(60)),
            ..QueueProps::default()
        },
    )?;
    let done = Topic::new(&mut app, stack, "Done", TopicProps::default())?;

    let processor = Function::new(
        &mut app,
        stack,
        "Processor",
        FunctionProps {
            timeout: Some(Duration::from_secs(30)),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "index.handler",
                Code::inline("def handler(event, context):\n    return event\n"),
            )
        },
    )?;
    processor.add_environment(&mut app, "TOPIC_ARN", done.topic_arn())?;
    processor.add_event_source(&mut app, SqsEventSource::new(jobs).batch_size(5))?;
    done.add_subscription(&mut app, Subscriber::Sqs(jobs), SubscriptionProps::default())?;
    uploads.grant_read(&mut app, &processor)?;
    done.grant_publish(&mut app, &processor)?;
    Ok(app)
}
