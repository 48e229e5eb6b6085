"""Glue job 1: one CSV file of the raw zone -> Parquet in the conformed zone.

Arguments: --source_bucket, --source_key (the CSV file), --target_bucket (the conformed
zone), --dataset, --ingestion_id (the run id, a partition of the output).

Column names are normalised to lowercase snake_case so that Athena and the Glue catalog
accept them; every value is kept as read (strings), typing is the next job's concern.
"""

import re
import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import functions as F

args = getResolvedOptions(
    sys.argv,
    ["JOB_NAME", "source_bucket", "source_key", "target_bucket", "dataset", "ingestion_id"],
)

sc = SparkContext.getOrCreate()
glue_context = GlueContext(sc)
spark = glue_context.spark_session
job = Job(glue_context)
job.init(args["JOB_NAME"], args)


def snake(name):
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    name = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return name or "column"


source = f"s3://{args['source_bucket']}/{args['source_key']}"
frame = (
    spark.read.option("header", "true")
    .option("mode", "PERMISSIVE")
    .option("multiLine", "true")
    .option("escape", '"')
    .csv(source)
)

seen = {}
renamed = []
for column in frame.columns:
    base = snake(column)
    seen[base] = seen.get(base, 0) + 1
    renamed.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
frame = frame.toDF(*renamed)

frame = (
    frame.withColumn("source_file", F.lit(source))
    .withColumn("ingested_at", F.current_timestamp())
    .withColumn("ingestion_id", F.lit(args["ingestion_id"]))
)

target = f"s3://{args['target_bucket']}/{args['dataset']}/"
frame.write.mode("append").partitionBy("ingestion_id").parquet(target)
print(f"wrote {frame.count()} rows from {source} to {target}")

job.commit()
