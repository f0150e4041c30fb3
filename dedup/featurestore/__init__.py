"""The feature store: what phase 1 keeps of every article (shards of memory-mapped arrays and a Parquet
table behind a versioned manifest), read by phase 2 and by the persistent index. See ``store``."""

from .store import (
    DOC_SCHEMA,
    FORMAT,
    FORMAT_VERSION,
    FeatureStore,
    Shard,
    ShardData,
    StoreError,
    bucket_bounds,
    directory,
    directory_bits,
    encode_texts,
    publish_shard,
    read_manifest,
    stage_shard,
    write_manifest,
    write_shard,
)

__all__ = [
    "DOC_SCHEMA",
    "FORMAT",
    "FORMAT_VERSION",
    "FeatureStore",
    "Shard",
    "ShardData",
    "StoreError",
    "bucket_bounds",
    "directory",
    "directory_bits",
    "encode_texts",
    "publish_shard",
    "read_manifest",
    "stage_shard",
    "write_manifest",
    "write_shard",
]
