#!/usr/bin/env bash
# A real SkyWalking OAP on loopback for the tests named *.skywalking.test.ts. Apache publishes no
# OAP distribution to Maven Central, but it does publish every server module: the classpath is
# server-starter's dependencies (resolved by Maven, checksums enforced), and the configuration
# (application.yml, OAL scripts...), which its jar leaves out, comes from its sources jar. 9.6.0 is
# the last release with the embedded H2 storage (in memory here: nothing to install or clean up).
# Cached under ~/.cache/boxfleet like sing-box. Starts OAP in the background (it takes a minute or
# two to come up: callers wait for the GraphQL port) and prints "GRPC_ADDRESS GRAPHQL_URL"; its
# pid is in DIR/oap.pid for the caller to stop it, its log in DIR/oap.log.
#   usage: .ci/skywalking-oap.sh DIR   →   127.0.0.1:PORT http://127.0.0.1:PORT/graphql
set -euo pipefail
SKYWALKING_VERSION=9.6.0
OAP_DIR="$HOME/.cache/boxfleet/skywalking-$SKYWALKING_VERSION"
DIR=${1:?usage: .ci/skywalking-oap.sh DIR}

if [[ ! -f $OAP_DIR/complete ]]; then
  echo "fetching SkyWalking OAP $SKYWALKING_VERSION from Maven Central…" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>boxfleet</groupId>
  <artifactId>skywalking-oap</artifactId>
  <version>$SKYWALKING_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.skywalking</groupId>
      <artifactId>server-starter</artifactId>
      <version>$SKYWALKING_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  mvn=(mvn -B -q -C -f "$tmp/pom.xml" -Dmaven.repo.local="$tmp/m2")
  "${mvn[@]}" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/oap/lib" >&2
  "${mvn[@]}" dependency:copy -Dartifact="org.apache.skywalking:server-starter:$SKYWALKING_VERSION:jar:sources" -DoutputDirectory="$tmp" >&2
  unzip -q "$tmp/server-starter-$SKYWALKING_VERSION-sources.jar" -d "$tmp/oap/config" -x 'org/*' 'META-INF/*'
  touch "$tmp/oap/complete"
  rm -rf "$OAP_DIR"
  mkdir -p "$(dirname "$OAP_DIR")"
  mv "$tmp/oap" "$OAP_DIR"
fi

mkdir -p "$DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc=$(free_port)
rest=$(free_port)
# The shipped log4j2.xml logs at DEBUG, which slows start-up; INFO is enough to see why it failed.
cat >"$DIR/log4j2.xml" <<'EOF'
<Configuration status="WARN">
  <Appenders><Console name="Console" target="SYSTEM_OUT"><PatternLayout pattern="%d %c{1} [%t] %-5p - %m%n"/></Console></Appenders>
  <Loggers><Root level="INFO"><AppenderRef ref="Console"/></Root></Loggers>
</Configuration>
EOF
# Both listeners on loopback and free ports. Off: the modules that would bind fixed ports of their
# own (PromQL 9090, LogQL 3100, AWS Firehose 12801) and the metric receivers whose hundreds of
# rules make most of the start-up time; traces, the management service and queries stay.
env SW_CORE_GRPC_HOST=127.0.0.1 SW_CORE_GRPC_PORT="$grpc" SW_CORE_REST_HOST=127.0.0.1 SW_CORE_REST_PORT="$rest" \
  SW_STORAGE=h2 SW_CORE_PERSISTENT_PERIOD=1 SW_PROMQL=- SW_LOGQL=- SW_RECEIVER_AWS_FIREHOSE=- \
  SW_OTEL_RECEIVER=- SW_RECEIVER_METER=- SW_ENVOY_METRIC=- SW_SERVICE_MESH=- SW_RECEIVER_TELEGRAF=- \
  SW_RECEIVER_EBPF=- SW_RECEIVER_BROWSER=- SW_RECEIVER_CLR=- SW_RECEIVER_JVM=- \
  java -Xms256m -Xmx1g -Dlog4j.configurationFile="$DIR/log4j2.xml" -cp "$OAP_DIR/config:$OAP_DIR/lib/*" \
  org.apache.skywalking.oap.server.starter.OAPServerStartUp >"$DIR/oap.log" 2>&1 &
echo $! >"$DIR/oap.pid"
echo "127.0.0.1:$grpc http://127.0.0.1:$rest/graphql"
