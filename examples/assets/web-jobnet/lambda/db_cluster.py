"""Start, stop and describe the job net's Aurora cluster (CLUSTER_ID)."""

import os

import boto3

rds = boto3.client("rds")
CLUSTER_ID = os.environ["CLUSTER_ID"]


def start(_event, _context):
    r = rds.start_db_cluster(DBClusterIdentifier=CLUSTER_ID)
    status = r["DBCluster"]["Status"]
    print(f"start {CLUSTER_ID}: {status}")
    return {"clusterId": CLUSTER_ID, "status": status}


def stop(_event, _context):
    r = rds.stop_db_cluster(DBClusterIdentifier=CLUSTER_ID)
    status = r["DBCluster"]["Status"]
    print(f"stop {CLUSTER_ID}: {status}")
    return {"clusterId": CLUSTER_ID, "status": status}


def describe(_event, _context):
    """Returns the cluster status: available, stopping, stopped, starting ..."""
    r = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER_ID)
    return {"clusterId": CLUSTER_ID, "status": r["DBClusters"][0]["Status"]}
