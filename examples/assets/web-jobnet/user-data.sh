#!/bin/bash
# web-jobnet web server (Amazon Linux 2023): Apache httpd, the start/stop/check scripts
# the job net runs through SSM Run Command, and the CloudWatch agent with its
# configuration from Parameter Store.
#
# httpd is not enabled at boot: after the first boot the job net starts it, once the
# database is available (the start flow), and stops it before the instance (the stop
# flow).
set -euxo pipefail

dnf install -y httpd amazon-cloudwatch-agent

install -d -m 0755 /opt/webapp/bin

cat > /opt/webapp/bin/httpd-check.sh <<'SCRIPT'
#!/bin/bash
# Exits 0 once httpd is active and serves the health page (up to 60 s).
set -uo pipefail
for _ in $(seq 1 30); do
    if systemctl is-active --quiet httpd && curl -fsS -o /dev/null http://127.0.0.1/health.html; then
        echo "httpd is healthy"
        exit 0
    fi
    sleep 2
done
echo "httpd is not healthy after 60 s" >&2
systemctl status httpd --no-pager >&2 || true
exit 1
SCRIPT

cat > /opt/webapp/bin/httpd-start.sh <<'SCRIPT'
#!/bin/bash
# Starts httpd and waits until it answers.
set -euo pipefail
systemctl start httpd
exec /opt/webapp/bin/httpd-check.sh
SCRIPT

cat > /opt/webapp/bin/httpd-stop.sh <<'SCRIPT'
#!/bin/bash
# Stops httpd gracefully (open connections finish) and checks it is down.
set -euo pipefail
if systemctl is-active --quiet httpd; then
    apachectl -k graceful-stop || true
    systemctl stop httpd
fi
if systemctl is-active --quiet httpd; then
    echo "httpd is still active" >&2
    exit 1
fi
echo "httpd is stopped"
SCRIPT

chmod 0755 /opt/webapp/bin/*.sh

TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" \
    http://169.254.169.254/latest/meta-data/instance-id)
cat > /var/www/html/index.html <<HTML
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>web-jobnet</title></head>
<body><h1>web-jobnet</h1><p>Served by $INSTANCE_ID.</p></body></html>
HTML
echo ok > /var/www/html/health.html

systemctl disable httpd
/opt/webapp/bin/httpd-start.sh

# The agent's configuration is the SSM parameter the web stack creates.
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl \
    -a fetch-config -m ec2 -s -c ssm:AmazonCloudWatch-web-jobnet
