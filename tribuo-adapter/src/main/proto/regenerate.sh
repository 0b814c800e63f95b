#!/usr/bin/env bash
# Regenerates the checked-in Java classes of mutable-modules-tribuo.proto with the protoc release that matches the
# protobuf-java runtime Tribuo 4.3.2 uses (3.25.x), taken from Maven Central.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
module="$(cd "$here/../../.." && pwd)"
version=3.25.6
classifier=linux-x86_64
mvn -B -ntp -q dependency:get -Dartifact="com.google.protobuf:protoc:$version:exe:$classifier" -Dtransitive=false
protoc="$HOME/.m2/repository/com/google/protobuf/protoc/$version/protoc-$version-$classifier.exe"
chmod +x "$protoc"
find "$module/src/main/java/org/mutablemodules/tribuo/protos" -name "*.java" ! -name package-info.java -delete
"$protoc" --proto_path="$here" --java_out="$module/src/main/java" "$here/mutable-modules-tribuo.proto"
echo "Generated into $module/src/main/java/org/mutablemodules/tribuo/protos"
