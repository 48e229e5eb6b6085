//! Twin pair `s3_notifications` (cairn side of `s3_notifications.js`): a bucket notifying
//! a function (an event source), a queue and a topic, each with key filters, and a second
//! bucket sending its events to EventBridge.

use cairn::lambda::{Code, Function, FunctionProps, Runtime, S3EventSource};
use cairn::s3::{Bucket, BucketProps, EventType, NotificationKeyFilter};
use cairn::sns::{Topic, TopicProps};
use cairn::sqs::{Queue, QueueProps};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("S3Notifications")?;

    let uploads = Bucket::new(&mut app, stack, "Uploads", BucketProps::default())?;
    Bucket::new(
        &mut app,
        stack,
        "Audit",
        BucketProps {
            event_bridge_enabled: true,
            ..BucketProps::default()
        },
    )?;
    let jobs = Queue::new(&mut app, stack, "Jobs", QueueProps::default())?;
    let done = Topic::new(&mut app, stack, "Done", TopicProps::default())?;

    let processor = Function::new(
        &mut app,
        stack,
        "Processor",
        FunctionProps::new(
            Runtime::Python3_12,
            "index.handler",
            Code::inline("def handler(event, context):\n    return event\n"),
        ),
    )?;
    processor.add_event_source(
        &mut app,
        S3EventSource {
            bucket: uploads,
            events: vec![EventType::ObjectCreated],
            filter: NotificationKeyFilter {
                prefix: Some("in/".into()),
                suffix: Some(".csv".into()),
            },
        },
    )?;
    uploads.add_queue_notification(
        &mut app,
        EventType::ObjectRemoved,
        &jobs,
        NotificationKeyFilter {
            prefix: Some("in/".into()),
            suffix: None,
        },
    )?;
    uploads.add_topic_notification(
        &mut app,
        EventType::ObjectCreated,
        &done,
        NotificationKeyFilter {
            prefix: None,
            suffix: Some(".json".into()),
        },
    )?;
    Ok(app)
}
