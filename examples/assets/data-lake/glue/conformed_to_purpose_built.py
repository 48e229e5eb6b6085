"""Glue job 2: the conformed data of one run -> the purpose-built zone, rules applied.

Arguments: --source_bucket (conformed), --target_bucket (purpose-built), --database (the
Glue database), --dataset, --ingestion_id.

Rules, in order:
1. trim surrounding whitespace of every string, and turn empty strings into nulls;
2. drop rows in which every data column is null;
3. cast columns whose every non-null value is numeric to double, and columns whose every
   non-null value is an ISO date to date;
4. drop exact duplicate rows;
5. stamp the rows with processed_at.
The result is appended as Parquet, partitioned by ingestion_id, and the table
<dataset> of the database is created or updated in the Data Catalog.
"""

import sys

from awsglue.context import GlueContext
from awsglue.dynamicframe import DynamicFrame
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import functions as F

args = getResolvedOptions(
    sys.argv,
    ["JOB_NAME", "source_bucket", "target_bucket", "database", "dataset", "ingestion_id"],
)

sc = SparkContext.getOrCreate()
glue_context = GlueContext(sc)
spark = glue_context.spark_session
job = Job(glue_context)
job.init(args["JOB_NAME"], args)

LINEAGE = {"source_file", "ingested_at", "ingestion_id"}
NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

source = (
    f"s3://{args['source_bucket']}/{args['dataset']}/ingestion_id={args['ingestion_id']}/"
)
frame = spark.read.parquet(source)
data_columns = [c for c in frame.columns if c not in LINEAGE]

# 1. trim, empty -> null
for name, kind in frame.dtypes:
    if kind == "string" and name in data_columns:
        trimmed = F.trim(F.col(name))
        frame = frame.withColumn(name, F.when(trimmed == "", None).otherwise(trimmed))

# 2. rows without data
frame = frame.dropna(how="all", subset=data_columns)

# 3. types
for name in data_columns:
    values = frame.select(name).where(F.col(name).isNotNull())
    if values.limit(1).count() == 0:
        continue
    if values.where(~F.col(name).rlike(NUMBER)).limit(1).count() == 0:
        frame = frame.withColumn(name, F.col(name).cast("double"))
    elif values.where(~F.col(name).rlike(DATE)).limit(1).count() == 0:
        frame = frame.withColumn(name, F.to_date(F.col(name)))

# 4. duplicates (lineage columns differ per row only by file, so compare data columns)
frame = frame.dropDuplicates(data_columns)

# 5. stamp
frame = frame.withColumn("processed_at", F.current_timestamp()).withColumn(
    "ingestion_id", F.lit(args["ingestion_id"])
)

target = f"s3://{args['target_bucket']}/{args['dataset']}/"
sink = glue_context.getSink(
    connection_type="s3",
    path=target,
    enableUpdateCatalog=True,
    updateBehavior="UPDATE_IN_DATABASE",
    partitionKeys=["ingestion_id"],
)
sink.setFormat("glueparquet")
sink.setCatalogInfo(catalogDatabase=args["database"], catalogTableName=args["dataset"])
sink.writeFrame(DynamicFrame.fromDF(frame, glue_context, "purpose_built"))
print(f"wrote {frame.count()} rows of {args['dataset']} to {target}")

job.commit()
