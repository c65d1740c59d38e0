"""The video dataset: decodes the frames of the sampled clips, adds optical flow, augments and makes tensors.

``ds[i]`` returns ``(clips, labels, meta)`` with ``clips`` of shape ``(K, C, T, S, S)``: in training ``K = 1``
(one random clip, a new one each epoch); in evaluation and prediction ``K = --model-arg clips`` clips spread
evenly over the video. ``C`` is 3 (RGB), 2 (flow) or 5 (RGB then flow) depending on the model. RGB-only clips
stay uint8, with ``meta["normalize"] = (mean, std)``: :func:`collate_clips` normalises the whole batch at once
(one pass over a quarter of the bytes instead of a float copy and a pass per clip). ``labels`` are
the training targets of the sample (swapped when a clip was mirrored or reversed); ``target(i)`` is always the
raw annotation.

``frame_order`` (``natural``, ``shuffled``, ``reversed``; the ``--split val:shuffled`` control) reorders the
frames of every clip before anything else; flow is then computed from the reordered frames.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvkit.errors import BadInput
from cvkit.task import DatasetInfo, ModelConfig, TaskDataset
from cvkit.vision.cache import Claims
from cvkit_video import flow as flowlib
from cvkit_video.cache import FlowCache, MemoryCache, VideoIndex, dataset_cache, video_key
from cvkit_video.clips import ClipSpec, reorder
from cvkit_video.decode import probe, read_frames
from cvkit_video.transforms import (
    check_augment,
    crop_origin,
    flow_tensor,
    mirror,
    normalize_clips,
    resize_short,
    rgb_tensor,
    rgb_uint8,
    swap_labels,
)

KEEP_FRAMES = 300  # videos up to this length are decoded whole, kept in memory and get their flow cached on disk


class VideoDataset(TaskDataset):
    # OpenCV decodes outside the GIL: two threads keep ahead of a small model's steps where one could not
    # (the default training's first epoch on 2 cores, with the uint8 clips below: data wait 0.39-0.53 -> 0.06-0.10
    # of step time)
    decode_ahead_threads = 2

    def __init__(self, info: DatasetInfo, sources: list[str], targets: list[list[int]] | None, model: ModelConfig,
                 spec: ClipSpec, train: bool, order: str = "natural", cache_key: str | None = None) -> None:
        self.info, self.sources, self.targets = info, sources, targets
        self.spec, self.train, self.order = spec, train, order
        self.size = model.img_size
        self.mean, self.std = tuple(model.mean), tuple(model.std)
        self.augment = check_augment(str(model.args.get("augment", "auto"))) if train else "none"
        folder = dataset_cache(cache_key or info.spec or "predict")
        self.index = VideoIndex(folder)
        self.flow_cache = FlowCache(folder)
        self.memory = MemoryCache(float(model.args.get("frame_cache_mb", 1024)))
        self.claims = Claims()  # videos being decoded now, by this thread or the decode-ahead one
        self.keys: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.sources)

    def source(self, index: int) -> str:
        return self.sources[index]

    def target(self, index: int) -> list[int] | None:
        return self.targets[index] if self.targets is not None else None

    def files(self) -> list[Path]:
        return [Path(s) for s in self.sources]

    # ------------------------------------------------------------------ frames
    def _key(self, path: str) -> str:
        """The video's cache key (path, size, modification time), read from the file system once per dataset."""
        key = self.keys.get(path)
        if key is not None:
            return key
        try:
            key = self.keys[path] = video_key(path)
            return key
        except FileNotFoundError:
            raise BadInput(path, "no such file") from None
        except OSError as exc:
            raise BadInput(path, f"cannot read: {exc.strerror or exc}") from None

    def decode_ahead(self, index: int) -> bool:
        """The training loop's decode-ahead thread: video ``index`` decoded and resized into memory (False once the
        memory budget is spent: further videos would push out the ones decoded for the coming steps)."""
        if not self.train:
            return False
        path = self.sources[index]
        _, held = self._video(path, self._key(path))
        return held is None or self.memory.room(held.nbytes)

    def _video(self, path: str, key: str) -> tuple[int, np.ndarray | None]:
        """Frame count, and every resized frame ``(N, H, W, 3)`` when the video is short enough to keep."""
        while True:
            held = self.memory.get((key, self.size))
            if held is not None:
                return len(held), held
            loading = self.claims.claim(key)
            if loading is None:
                break
            loading.wait()  # the other thread decodes it
        try:
            held = self.memory.get((key, self.size))  # kept by the other thread just before this one claimed it
            return (len(held), held) if held is not None else self._decode(path, key)
        finally:
            self.claims.release(key)

    def _decode(self, path: str, key: str) -> tuple[int, np.ndarray | None]:
        meta = self.index.get(key)
        kept = None
        if meta is None:
            meta, kept = probe(path, keep_frames=KEEP_FRAMES)
            self.index.put(key, meta)
        if meta.frames > KEEP_FRAMES:
            return meta.frames, None
        if kept is None:
            got = read_frames(path, range(meta.frames))
            kept = [got[j] for j in range(meta.frames)]
        frames = np.stack([resize_short(f, self.size) for f in kept])
        self.memory.put((key, self.size), frames)
        return meta.frames, frames

    def _frames(self, path: str, held: np.ndarray | None, indices: list[int]) -> np.ndarray:
        if held is not None:
            return held[indices]
        got = read_frames(path, indices)
        return np.stack([resize_short(got[j], self.size) for j in indices])

    def _video_flow(self, key: str, held: np.ndarray, backward: bool) -> np.ndarray:
        """Flow of the whole (short) video at this size and stride, forward (frame j to j + stride) or backward
        (j + stride to j), from memory, the disk cache, or computed and cached."""
        params = f"{self.size}-s{self.spec.stride}-{self.spec.flow_method}" + ("-bwd" if backward else "")
        mem_key = (key, self.size, params)
        cached = self.memory.get(mem_key)
        if cached is None:
            cached = self.flow_cache.load(key, params)
            if cached is None or cached.shape[0] != max(0, len(held) - self.spec.stride) \
                    or cached.shape[1:3] != held.shape[1:3]:
                cached = flowlib.flows(held, self.spec.stride, self.spec.flow_method, backward)
                self.flow_cache.save(key, params, cached)
            cached = np.asarray(cached, dtype=np.float16)  # as on disk: fresh and cached runs see the same
            self.memory.put(mem_key, cached)
        return cached

    def _clip_flow(self, key: str, held: np.ndarray | None, positions: list[int], frames: np.ndarray
                   ) -> np.ndarray:
        """Flow between consecutive frames of a clip: from the cached whole-video flow when the clip runs
        forwards or backwards by the stride (a repeated last frame has zero flow), else computed here."""
        s = self.spec.stride
        steps = np.diff(positions)
        if held is not None and len(held) > s:
            for sign, backward in ((1, False), (-1, True)):
                if np.all((steps == sign * s) | (steps == 0)):
                    full = self._video_flow(key, held, backward)
                    anchor = np.array(positions[1:] if backward else positions[:-1])
                    flow = full[np.minimum(anchor, len(full) - 1)].astype(np.float32)
                    flow[steps == 0] = 0.0
                    return flow
        return np.stack([flowlib.flows([frames[j], frames[j + 1]], 1, self.spec.flow_method)[0]
                         for j in range(len(positions) - 1)])

    # ------------------------------------------------------------------ samples
    def _clip(self, path: str, key: str, n: int, held: np.ndarray | None, start: int, order: str,
              rng: np.random.Generator | None, flip: bool, backwards: bool) -> torch.Tensor:
        spec = self.spec
        positions = spec.indices(start, n)
        if backwards:
            positions = positions[::-1]
        positions = reorder(positions, order, rng)
        frames = self._frames(path, held, positions)
        flow = None
        if spec.flow:
            flow = self._clip_flow(key, held, positions, frames)
            frames = frames[: spec.frames]
        y, x = crop_origin(frames.shape[1], frames.shape[2], self.size, self.train)
        frames = frames[:, y: y + self.size, x: x + self.size]
        if flow is not None:
            flow = flow[:, y: y + self.size, x: x + self.size]
        if flip:
            frames, flow = mirror(frames, flow)
        if flow is None:
            return rgb_uint8(frames)  # normalised per batch (collate_clips)
        parts = [rgb_tensor(frames, self.mean, self.std)] if spec.rgb else []
        parts.append(flow_tensor(flow))
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[int], dict[str, Any]]:
        path = self.sources[index]
        key = self._key(path)
        n, held = self._video(path, key)
        labels = list(self.targets[index]) if self.targets is not None else []
        flip = backwards = False
        if self.train:
            starts = [self.spec.train_start(n)]
            if self.augment in ("auto", "flip") and random.random() < 0.5:
                flip = True
                labels = swap_labels(labels, self.info.extra.get("mirror_pairs", []))
            pairs = self.info.extra.get("reverse_pairs")
            if self.augment == "auto" and pairs and random.random() < 0.5:
                backwards = True
                labels = swap_labels(labels, pairs)
        else:
            starts = self.spec.eval_starts(n)
        clips = []
        for k, start in enumerate(starts):
            rng = None if self.train else np.random.default_rng([index, k, 2014])
            clips.append(self._clip(path, key, n, held, start, self.order, rng, flip, backwards))
        meta = {"source": path, "frames": n, "starts": starts}
        if clips[0].dtype == torch.uint8:
            meta["normalize"] = (self.mean, self.std)
        return (clips[0].unsqueeze(0) if len(clips) == 1 else torch.stack(clips)), labels, meta


def collate_clips(samples: list[tuple[torch.Tensor, list[int], dict[str, Any]]]) -> tuple[torch.Tensor, list[Any]]:
    """Stack the samples' clips; uint8 clips are normalised here, once for the batch. Returns the clips and the
    metas (without ``normalize``)."""
    clips = torch.stack([s[0] for s in samples])
    metas = [dict(s[2]) for s in samples]
    norm = [m.pop("normalize", None) for m in metas]
    if clips.dtype == torch.uint8:
        if any(n != norm[0] for n in norm) or norm[0] is None:
            raise ValueError("uint8 clips of one batch need one normalisation")
        clips = normalize_clips(clips, *norm[0])
    return clips, metas
