//! Twin pair `table_stream` (cairn side of `table_stream.js`): a DynamoDB table with a
//! stream read by a function.

use cairn::dynamodb::{Attribute, StreamViewType, Table, TableProps};
use cairn::lambda::{Code, DynamoDbEventSource, Function, FunctionProps, Runtime, StartingPosition};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("TableStream")?;

    let orders = Table::new(
        &mut app,
        stack,
        "Orders",
        TableProps {
            sort_key: Some(Attribute::string("sk")),
            stream: Some(StreamViewType::NewAndOldImages),
            ..TableProps::new(Attribute::string("pk"))
        },
    )?;

    let projector = Function::new(
        &mut app,
        stack,
        "Projector",
        FunctionProps::new(
            Runtime::Python3_12,
            "index.handler",
            Code::inline("def handler(event, context):\n    return len(event[\"Records\"])\n"),
        ),
    )?;
    projector.add_environment(&mut app, "TABLE_NAME", orders.table_name())?;
    projector.add_event_source(
        &mut app,
        DynamoDbEventSource::new(orders)
            .starting_position(StartingPosition::TrimHorizon)
            .batch_size(100),
    )?;
    orders.grant_read_write_data(&mut app, &projector)?;
    Ok(app)
}
