"""Tar shards: any task's dataset as WebDataset-layout tar files plus an index, read with random access.

``cvkit data shard SPEC --out DIR`` writes them (:func:`write_shards`); ``--data shards:DIR`` (or ``wds:DIR``)
reads them back as the same ``RawSplit`` the source gave (:func:`load_shard_split`); image bytes are read by
member path (:func:`read_member`, used by ``cvkit.io.images.read_image``). Importing this package does not
import torch.
"""

from cvkit.shards.index import MANIFEST, PREFIXES, SplitTable, read_manifest, read_table, read_targets
from cvkit.shards.reader import load_shard_split, read_member, shard_sources, split_member
from cvkit.shards.writer import parse_size, write_shards

__all__ = ["MANIFEST", "PREFIXES", "SplitTable", "load_shard_split", "parse_size", "read_manifest", "read_member",
           "read_table", "read_targets", "shard_sources", "split_member", "write_shards"]
