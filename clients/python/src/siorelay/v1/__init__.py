"""Generated protobuf and gRPC stubs for siorelay.v1 (scripts/generate.sh; do not edit)."""
