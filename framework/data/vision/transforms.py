"""Image transforms (MXNet 1.x's ``gluon.data.vision.transforms``): Blocks on NDArrays.

An image is an NDArray (H, W, C) (a batch: (N, H, W, C)), uint8 or float, as the data
sets give it; ``ToTensor`` turns it into a float32 tensor (C, H, W) in [0, 1], which
``Normalize`` and ``RandomRotation`` take. A transform called with extra arguments
(``transform(image, label)``) returns them unchanged after the image, so a Compose can
be given to ``dataset.transform`` as well as ``transform_first``.

    transformer = transforms.Compose([transforms.Resize(32), transforms.CenterCrop(28),
                                      transforms.ToTensor(), transforms.Normalize(0.13, 0.31)])

Random transforms draw from the framework's seeded host generator, so
``fw.random.seed(s)`` repeats them; on a batch each image gets its own draw. The
pixel work runs on the image's own array module (NumPy or CuPy), vectorised.
Integer results are rounded to the nearest value and clipped to the dtype's range
(MXNet truncates). Resizing: 0 nearest (OpenCV's INTER_NEAREST), 1 bilinear
(OpenCV's INTER_LINEAR, half-pixel centres, in floating point).
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy

from ...block import Block, HybridBlock
from ...ndarray import NDArray
from ...nn.sequential import HybridSequential, Sequential
from ..sampler import host_generator

__all__ = ["Compose", "HybridCompose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop",
           "RandomResizedCrop", "CropResize", "RandomFlipLeftRight", "RandomFlipTopBottom",
           "RandomBrightness", "RandomContrast", "RandomSaturation", "RandomHue",
           "RandomColorJitter", "RandomLighting", "Rotate", "RandomRotation", "RandomApply",
           "HybridRandomApply"]

Size = Union[int, Tuple[int, int]]
_INTERPOLATIONS = {0: "nearest", 1: "bilinear", 2: "bicubic", 3: "area", 4: "lanczos"}
_LUMA = (0.299, 0.587, 0.114)              # ITU-R 601 weights of R, G, B
# AlexNet's PCA of ImageNet RGB pixels: eigenvalues, and eigenvectors as columns
_EIGVAL = numpy.array([55.46, 4.794, 1.148])
_EIGVEC = numpy.array([[-0.5675, 0.7192, 0.4009],
                       [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])


# ---------------------------------------------------------------------- helpers
def _with_args(out, args: tuple):
    """``out``, or ``(out, *args)`` when the transform was given extra arguments."""
    return (out,) + tuple(args) if args else out


def _check_image(x, where: str, layout: str = "HWC") -> None:
    """``x`` is an NDArray image (3-D) or batch (4-D) in ``layout``, else a clear error."""
    shapes = {"HWC": "(H, W, C) or a batch (N, H, W, C)",
              "CHW": "(C, H, W) or a batch (N, C, H, W)"}[layout]
    if not isinstance(x, NDArray):
        raise TypeError(f"{where}: expected an NDArray image {shapes}, got "
                        f"{type(x).__name__}; make one with fw.nd.array(x, dtype=x.dtype)")
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: expected an image {shapes}, got an array of shape "
                         f"{x.shape}")


def _check_rgb(x: NDArray, where: str) -> int:
    """The channel count of an (N,) H, W, C image: 1 or 3, else a clear error."""
    channels = x.shape[-1]
    if channels not in (1, 3):
        raise ValueError(f"{where}: expected 1 (grey) or 3 (RGB) channels in the last axis of "
                         f"an image (H, W, C) or (N, H, W, C), got shape {x.shape}")
    return channels


def _work_dtype(dtype) -> numpy.dtype:
    """The float type pixel arithmetic runs in: float64 for float64 images, else float32."""
    return numpy.dtype(numpy.float64 if numpy.dtype(dtype) == numpy.float64 else numpy.float32)


def _saturate(xp, values, dtype):
    """Float ``values`` as ``dtype``: integers rounded and clipped to the dtype's range."""
    dtype = numpy.dtype(dtype)
    if dtype.kind in "ui":
        info = numpy.iinfo(dtype)
        values = xp.clip(xp.rint(values), info.min, info.max)
    return values.astype(dtype, copy=False)


def _raw_op(x: NDArray, fn: Callable) -> NDArray:
    """``fn(xp, raw)`` run on ``x``'s device, wrapped as an NDArray there (not recorded:
    data augmentation carries no gradient)."""
    ctx = x.context
    with ctx.scope():
        return NDArray(fn(ctx.xp, x._data), ctx)


def _per_image(x: NDArray, draws: numpy.ndarray, xp, trailing: int = 3):
    """Host ``draws`` (one per image, shape (N,)) on x's device, shaped to broadcast over
    an image's ``trailing`` axes; a single image's draw as a Python float."""
    if x.ndim == 3:
        return float(draws[0])
    return xp.asarray(draws.reshape((-1,) + (1,) * trailing))


def _count(x: NDArray) -> int:
    """The number of images: 1 for (H, W, C), N for (N, H, W, C)."""
    return 1 if x.ndim == 3 else x.shape[0]


def _size_pair(size, where: str) -> Tuple[int, int]:
    """``size`` (int, or (width, height)) as (width, height)."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                       for s in size)):
        raise ValueError(f"{where}: size must be a positive int or a (width, height) pair of "
                         f"positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def _check_interpolation(interpolation, where: str) -> int:
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{where}: interpolation={interpolation!r} is not supported; use "
                         f"0 (nearest), 1 (bilinear), 2 (bicubic), 3 (area) or 4 (lanczos)")
    return int(interpolation)


# --------------------------------------------------------------- resampling
def _linear_taps(n_in: int, n_out: int):
    """Source indices and weights of bilinear resampling along one axis (OpenCV's
    half-pixel rule, clamped at the borders): out = in[i0] * (1 - f) + in[i1] * f."""
    src = (numpy.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = numpy.clip(src, 0.0, n_in - 1)
    i0 = numpy.floor(src).astype(numpy.intp)
    return i0, numpy.minimum(i0 + 1, n_in - 1), src - i0


def _nearest_taps(n_in: int, n_out: int) -> numpy.ndarray:
    """Source indices of nearest-neighbour resampling (OpenCV: floor(i * n_in / n_out))."""
    return numpy.minimum(numpy.floor(numpy.arange(n_out) * (n_in / n_out)).astype(numpy.intp),
                         n_in - 1)


def _cubic_weights(f):
    """OpenCV's bicubic weights (A = -0.75) of the 4 taps at offsets -1..2, for fractions f."""
    a = -0.75
    w0 = ((a * (f + 1) - 5 * a) * (f + 1) + 8 * a) * (f + 1) - 4 * a
    w1 = ((a + 2) * f - (a + 3)) * f * f + 1
    w2 = ((a + 2) * (1 - f) - (a + 3)) * (1 - f) * (1 - f) + 1
    return numpy.stack([w0, w1, w2, 1 - w0 - w1 - w2])


def _lanczos_weights(f):
    """OpenCV's Lanczos-4 weights of the 8 taps at offsets -3..4, normalised to sum 1."""
    x = f[None, :] + 3 - numpy.arange(8)[:, None]          # distance of each tap
    with numpy.errstate(invalid="ignore", divide="ignore"):
        w = numpy.sin(numpy.pi * x / 4) * numpy.sin(numpy.pi * x) / (numpy.pi ** 2 * x * x / 4)
    w[numpy.abs(x) < 1e-12] = 1.0
    return w / w.sum(axis=0)


def _kernel_taps(interpolation: int, n_in: int, n_out: int):
    """Source indices (T, n_out) and weights (T, n_out) of resampling one axis from
    ``n_in`` to ``n_out`` samples by OpenCV's rule for ``interpolation`` 2 (bicubic),
    3 (area) or 4 (lanczos); indices clamped at the borders (edge pixels repeat)."""
    scale = n_in / n_out
    dst = numpy.arange(n_out)
    if interpolation == 3 and scale > 1:        # shrinking: average each footprint
        start = dst * scale
        first = numpy.floor(start).astype(numpy.intp)
        taps = int(numpy.ceil(scale)) + 1
        src = first[None, :] + numpy.arange(taps)[:, None]
        overlap = (numpy.minimum(src + 1, start + scale) - numpy.maximum(src, start))
        return numpy.minimum(src, n_in - 1), numpy.clip(overlap, 0.0, None) / scale
    if interpolation == 3:                      # enlarging: OpenCV's area-linear blend
        first = numpy.floor(dst * scale).astype(numpy.intp)
        f = (dst + 1) - (first + 1) / scale
        f = numpy.where(f <= 0, 0.0, f - numpy.floor(f))
        src = numpy.stack([first, first + 1])
        return numpy.minimum(src, n_in - 1), numpy.stack([1 - f, f])
    centre = (dst + 0.5) * scale - 0.5
    first = numpy.floor(centre).astype(numpy.intp)
    f = centre - first
    if interpolation == 2:
        offsets, weights = numpy.arange(-1, 3), _cubic_weights(f)
    else:
        offsets, weights = numpy.arange(-3, 5), _lanczos_weights(f)
    return numpy.clip(first[None, :] + offsets[:, None], 0, n_in - 1), weights


def _resample_axis(xp, img, axis: int, taps, work):
    """``img`` resampled along ``axis`` (negative) with ``taps`` (indices, weights)."""
    indices, weights = taps
    shape = (-1,) + (1,) * (-axis - 1)
    out = None
    for index, weight in zip(indices, weights):
        term = xp.take(img, xp.asarray(index), axis=axis).astype(work) * \
            xp.asarray(weight.astype(work).reshape(shape))
        out = term if out is None else out + term
    return out


def _resize_raw(xp, img, out_h: int, out_w: int, interpolation: int):
    """``img`` (..., H, W, C) resampled to (..., out_h, out_w, C), same dtype."""
    h, w = img.shape[-3], img.shape[-2]
    if (h, w) == (out_h, out_w):
        return img.copy()
    if interpolation >= 2:
        work = _work_dtype(img.dtype)
        rows = _resample_axis(xp, img, -3, _kernel_taps(interpolation, h, out_h), work)
        out = _resample_axis(xp, rows, -2, _kernel_taps(interpolation, w, out_w), work)
        return _saturate(xp, out, img.dtype)
    if interpolation == 0:
        rows = img[..., xp.asarray(_nearest_taps(h, out_h)), :, :]
        return xp.ascontiguousarray(rows[..., xp.asarray(_nearest_taps(w, out_w)), :])
    work = _work_dtype(img.dtype)
    y0, y1, fy = _linear_taps(h, out_h)
    x0, x1, fx = _linear_taps(w, out_w)
    top = img[..., xp.asarray(y0), :, :].astype(work)
    bottom = img[..., xp.asarray(y1), :, :].astype(work)
    rows = top + (bottom - top) * xp.asarray(fy.astype(work).reshape(-1, 1, 1))
    left, right = rows[..., xp.asarray(x0), :], rows[..., xp.asarray(x1), :]
    out = left + (right - left) * xp.asarray(fx.astype(work).reshape(-1, 1))
    return _saturate(xp, out, img.dtype)


def _resized_shape(h: int, w: int, size, keep_ratio: bool, where: str) -> Tuple[int, int]:
    """(height, width) after resizing (h, w) to ``size`` (MXNet's rule: an int with
    ``keep_ratio`` sets the short side, the long one scaled and floored)."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        if size <= 0:
            raise ValueError(f"{where}: size must be positive, got {size}")
        if not keep_ratio:
            return int(size), int(size)
        if h > w:
            return h * int(size) // w, int(size)
        return int(size), w * int(size) // h
    out_w, out_h = _size_pair(size, where)
    return out_h, out_w


def _crop_resize(x: NDArray, x0: int, y0: int, w: int, h: int,
                 size: Optional[Tuple[int, int]], interpolation: int) -> NDArray:
    """The region x0..x0+w, y0..y0+h of an image (batch), resized to ``size`` (w, h)."""
    def run(xp, img):
        region = img[..., y0:y0 + h, x0:x0 + w, :]
        if size is None or size == (w, h):
            return xp.ascontiguousarray(region)
        return _resize_raw(xp, region, size[1], size[0], interpolation)
    return _raw_op(x, run)


def _center_region(w: int, h: int, size: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """MXNet's center_crop: the largest centred region of (w, h) with the aspect ratio of
    ``size`` no larger than it (x0, y0, width, height)."""
    new_w, new_h = size
    if h < new_h:
        new_w, new_h = new_w * h / new_h, h
    if w < new_w:
        new_w, new_h = w, new_h * w / new_w
    new_w, new_h = int(new_w), int(new_h)
    return (w - new_w) // 2, (h - new_h) // 2, new_w, new_h


# ------------------------------------------------------------------ composition
class Compose(Sequential):
    """Applies ``transforms`` one after another. Runs of consecutive HybridBlocks are
    grouped into a HybridSequential, as MXNet does (left unhybridized: the random
    transforms draw on the host at each call); a plain function ``fn(image)`` is taken
    as a transform too."""

    def __init__(self, transforms: Sequence) -> None:
        super().__init__()
        hybrid = []
        for t in list(transforms) + [None]:
            if isinstance(t, HybridBlock):
                hybrid.append(t)
                continue
            if len(hybrid) == 1:
                self.add(hybrid[0])
            elif len(hybrid) > 1:
                group = HybridSequential()
                group.add(*hybrid)
                self.add(group)
            hybrid = []
            if t is not None:
                self.add(t if isinstance(t, Block) else _as_block(t, "Compose"))


class _FunctionTransform(Block):
    """A plain function as a transform: ``fn(image)``, extra arguments passed through."""

    def __init__(self, fn: Callable) -> None:
        super().__init__()
        self._fn = fn

    def forward(self, x, *args):
        return _with_args(self._fn(x), args)

    def __repr__(self) -> str:
        return f"Function({getattr(self._fn, '__name__', type(self._fn).__name__)})"


def _as_block(fn, where: str) -> Block:
    if not callable(fn):
        raise TypeError(f"{where}: a transform must be a Block or a callable, got "
                        f"{type(fn).__name__}")
    return _FunctionTransform(fn)


class HybridCompose(HybridSequential):
    """Applies HybridBlock ``transforms`` one after another (all must be HybridBlocks)."""

    def __init__(self, transforms: Sequence[HybridBlock]) -> None:
        super().__init__()
        self.add(*transforms)


class Cast(HybridBlock):
    """Casts the input to ``dtype`` (default float32); shape unchanged."""

    def __init__(self, dtype="float32") -> None:
        super().__init__()
        self._dtype = dtype

    def hybrid_forward(self, F, x, *args):
        return _with_args(F.cast(x, self._dtype), args)

    def __repr__(self) -> str:
        return f"Cast({numpy.dtype(self._dtype).name})"


class ToTensor(HybridBlock):
    """An image (H, W, C) (batch (N, H, W, C)) of values in [0, 255] to a float32
    tensor (C, H, W) (batch (N, C, H, W)) of values in [0, 1]: divided by 255."""

    def hybrid_forward(self, F, x, *args):
        _check_image(x, "ToTensor")
        axes = (2, 0, 1) if x.ndim == 3 else (0, 3, 1, 2)
        return _with_args(F.transpose(F.cast(x, "float32"), axes=axes) / 255.0, args)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize(HybridBlock):
    """Normalizes a tensor (C, H, W) or (N, C, H, W) per channel:
    ``out[c] = (x[c] - mean[c]) / std[c]``; a number, or a sequence of 1 or C values."""

    def __init__(self, mean=0.0, std=1.0) -> None:
        super().__init__()
        self._mean = self._values(mean, "mean")
        self._std = self._values(std, "std")
        if numpy.any(self._std == 0):
            raise ValueError(f"Normalize: std must not be 0, got {std!r}")
        self._constants = {}

    @staticmethod
    def _values(value, what: str) -> numpy.ndarray:
        values = numpy.atleast_1d(numpy.asarray(value, dtype=numpy.float64))
        if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "fiu":
            raise ValueError(f"Normalize: {what} must be a number or a sequence of numbers, "
                             f"got {value!r}")
        return values

    def _constant(self, F, values: numpy.ndarray, x: NDArray, what: str):
        channels = x.shape[-3]
        if values.size not in (1, channels):
            raise ValueError(f"Normalize: {what} has {values.size} values for an input of "
                             f"shape {x.shape} with {channels} channels; expected 1 or "
                             f"{channels}")
        key = (what, x.context, numpy.dtype(x.dtype), x.ndim, channels)
        const = self._constants.get(key)
        if const is None:
            shape = (-1, 1, 1) if x.ndim == 3 else (1, -1, 1, 1)
            const = F.array(values, ctx=x.context, dtype=x.dtype).reshape(shape)
            self._constants[key] = const
        return const

    def hybrid_forward(self, F, x, *args):
        _check_image(x, "Normalize", "CHW")
        if numpy.dtype(x.dtype).kind != "f":
            raise TypeError(f"Normalize: expected a float tensor (C, H, W) or (N, C, H, W), "
                            f"got {numpy.dtype(x.dtype).name} of shape {x.shape}; apply "
                            f"ToTensor first")
        mean = self._constant(F, self._mean, x, "mean")
        std = self._constant(F, self._std, x, "std")
        return _with_args(F.broadcast_div(F.broadcast_sub(x, mean), std), args)

    def __repr__(self) -> str:
        return f"Normalize(mean={self._mean.tolist()}, std={self._std.tolist()})"


# -------------------------------------------------------------------- geometry
class Resize(HybridBlock):
    """Resizes an image (H, W, C) or batch (N, H, W, C) to ``size``.

    size: (width, height), or an int: a square, or with ``keep_ratio`` the short side
    (the long side scaled in proportion, floored). interpolation (OpenCV's codes, as
    MXNet): 0 nearest, 1 bilinear (default), 2 bicubic, 3 area (box average when
    shrinking), 4 Lanczos (8 taps). The dtype is kept (uint8 results rounded).
    """

    def __init__(self, size: Size, keep_ratio: bool = False, interpolation: int = 1) -> None:
        super().__init__()
        _resized_shape(1, 1, size, keep_ratio, "Resize")          # checks size
        self._size, self._keep = size, bool(keep_ratio)
        self._interpolation = _check_interpolation(interpolation, "Resize")

    def hybrid_forward(self, F, x, *args):
        _check_image(x, "Resize")
        out_h, out_w = _resized_shape(x.shape[-3], x.shape[-2], self._size, self._keep,
                                      "Resize")
        out = _raw_op(x, lambda xp, img: _resize_raw(xp, img, out_h, out_w,
                                                     self._interpolation))
        return _with_args(out, args)

    def __repr__(self) -> str:
        return (f"Resize(size={self._size}, keep_ratio={self._keep}, "
                f"interpolation={self._interpolation})")


class CenterCrop(Block):
    """Crops the centre of an image (H, W, C) (or batch) to ``size`` (int, or (width,
    height)); an image smaller than ``size`` gives its largest centred region of the same
    aspect ratio, resized up (``interpolation`` as ``Resize``)."""

    def __init__(self, size: Size, interpolation: int = 1) -> None:
        super().__init__()
        self._size = _size_pair(size, "CenterCrop")
        self._interpolation = _check_interpolation(interpolation, "CenterCrop")

    def forward(self, x, *args):
        _check_image(x, "CenterCrop")
        x0, y0, w, h = _center_region(x.shape[-2], x.shape[-3], self._size)
        return _with_args(_crop_resize(x, x0, y0, w, h, self._size, self._interpolation),
                          args)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self._size}, interpolation={self._interpolation})"


class RandomResizedCrop(Block):
    """Crops a random region of an image (H, W, C) (or batch) and resizes it to ``size``.

    The region's area is a uniform fraction in ``scale`` of the image's, its aspect ratio
    (width / height) log-uniform in ``ratio``; after 10 draws that do not fit, the centre
    crop is taken (MXNet's ``random_size_crop``). interpolation as ``Resize``.
    """

    def __init__(self, size: Size, scale: Tuple[float, float] = (0.08, 1.0),
                 ratio: Tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: int = 1) -> None:
        super().__init__()
        self._size = _size_pair(size, "RandomResizedCrop")
        if isinstance(scale, numbers.Real):
            scale = (scale, 1.0)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
            raise ValueError(f"RandomResizedCrop: scale must be (min, max) area fractions with "
                             f"0 < min <= max, got {scale!r}")
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"RandomResizedCrop: ratio must be (min, max) aspect ratios with "
                             f"0 < min <= max, got {ratio!r}")
        self._scale = (float(scale[0]), float(scale[1]))
        self._ratio = (float(ratio[0]), float(ratio[1]))
        self._interpolation = _check_interpolation(interpolation, "RandomResizedCrop")

    def _region(self, w: int, h: int) -> Tuple[int, int, int, int]:
        rng = host_generator()
        log_ratio = (math.log(self._ratio[0]), math.log(self._ratio[1]))
        for _ in range(10):
            area = rng.uniform(*self._scale) * w * h
            aspect = math.exp(rng.uniform(*log_ratio))
            new_w = int(round(math.sqrt(area * aspect)))
            new_h = int(round(math.sqrt(area / aspect)))
            if 0 < new_w <= w and 0 < new_h <= h:
                return int(rng.randint(0, w - new_w + 1)), int(rng.randint(0, h - new_h + 1)), \
                    new_w, new_h
        return _center_region(w, h, self._size)

    def forward(self, x, *args):
        _check_image(x, "RandomResizedCrop")
        x0, y0, w, h = self._region(x.shape[-2], x.shape[-3])
        return _with_args(_crop_resize(x, x0, y0, w, h, self._size, self._interpolation),
                          args)

    def __repr__(self) -> str:
        return (f"RandomResizedCrop(size={self._size}, scale={self._scale}, "
                f"ratio={self._ratio}, interpolation={self._interpolation})")


class CropResize(HybridBlock):
    """Crops the region at left ``x``, top ``y`` of ``width`` x ``height`` pixels from an
    image (H, W, C) (or batch), then resizes it to ``size`` (int or (width, height))
    when given; interpolation as ``Resize`` (default 1, bilinear)."""

    def __init__(self, x: int, y: int, width: int, height: int, size: Optional[Size] = None,
                 interpolation: Optional[int] = None) -> None:
        super().__init__()
        for name, value, low in (("x", x, 0), ("y", y, 0), ("width", width, 1),
                                 ("height", height, 1)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"CropResize: {name} must be an int >= {low}, got {value!r}")
        self._x, self._y, self._width, self._height = int(x), int(y), int(width), int(height)
        self._size = None if size is None else _size_pair(size, "CropResize")
        self._interpolation = _check_interpolation(1 if interpolation is None
                                                   else interpolation, "CropResize")

    def hybrid_forward(self, F, x, *args):
        _check_image(x, "CropResize")
        h, w = x.shape[-3], x.shape[-2]
        if self._x + self._width > w or self._y + self._height > h:
            raise ValueError(f"CropResize: the region x={self._x}, y={self._y}, width="
                             f"{self._width}, height={self._height} does not fit in an image "
                             f"of shape {x.shape} (height {h}, width {w})")
        return _with_args(_crop_resize(x, self._x, self._y, self._width, self._height,
                                       self._size, self._interpolation), args)

    def __repr__(self) -> str:
        return (f"CropResize(x={self._x}, y={self._y}, width={self._width}, "
                f"height={self._height}, size={self._size}, "
                f"interpolation={self._interpolation})")


class _RandomFlip(HybridBlock):
    """Flips an image (or each image of a batch) along ``_axis`` with probability ``p``."""

    _axis = -2
    _title = ""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"{self._title}: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def hybrid_forward(self, F, x, *args):
        _check_image(x, self._title)
        flip = host_generator().random_sample(_count(x)) < self.p
        axis = self._axis

        def run(xp, img):
            if not flip.any():
                return img.copy()
            flipped = xp.flip(img, axis=axis)
            if img.ndim == 3 or flip.all():
                return xp.ascontiguousarray(flipped)
            return xp.where(xp.asarray(flip.reshape(-1, 1, 1, 1)), flipped, img)
        return _with_args(_raw_op(x, run), args)

    def __repr__(self) -> str:
        return f"{self._title}(p={self.p})"


class RandomFlipLeftRight(_RandomFlip):
    """Flips an image (H, W, C) left to right (each image of a batch (N, H, W, C) on
    its own draw) with probability ``p`` (0.5)."""
    _axis, _title = -2, "RandomFlipLeftRight"


class RandomFlipTopBottom(_RandomFlip):
    """Flips an image (H, W, C) top to bottom (each image of a batch on its own draw)
    with probability ``p`` (0.5)."""
    _axis, _title = -3, "RandomFlipTopBottom"


# ------------------------------------------------------------------- colour
def _gray(xp, img, work):
    """Luma of (..., H, W, 3) pixels as (..., H, W, 1) (of a 1-channel image: itself)."""
    img = img.astype(work, copy=False)
    if img.shape[-1] == 1:
        return img
    return (img[..., 0:1] * _LUMA[0] + img[..., 1:2] * _LUMA[1] + img[..., 2:3] * _LUMA[2])


def _brightness(xp, img, alpha, work):
    return img.astype(work, copy=False) * alpha


def _contrast(xp, img, alpha, work):
    """x * alpha + (1 - alpha) * (mean luma of the image)."""
    mean = _gray(xp, img, work).mean(axis=(-3, -2, -1), keepdims=True)
    return img.astype(work, copy=False) * alpha + (1 - alpha) * mean


def _saturation(xp, img, alpha, work):
    """x * alpha + (1 - alpha) * (luma of the pixel); a grey image is unchanged."""
    img = img.astype(work, copy=False)
    if img.shape[-1] == 1:
        return img
    return img * alpha + (1 - alpha) * _gray(xp, img, work)


def _hue(xp, img, shift, work):
    """Each pixel's hue turned by ``shift`` turns (x 360 degrees) in HLS, lightness and
    saturation kept (MXNet's AdjustHue); a grey image is unchanged.

    In HLS the largest and smallest of R, G, B stay put under a turn of the hue, so each
    channel is vmin + (vmax - vmin) * ramp(hue + its offset), ramp being HLS's piecewise
    linear profile (0 -> 1 over 0..60 degrees, 1 up to 180, 1 -> 0 over 180..240)."""
    img = img.astype(work, copy=False)
    if img.shape[-1] == 1:
        return img
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    vmax, vmin = xp.maximum(xp.maximum(r, g), b), xp.minimum(xp.minimum(r, g), b)
    diff = vmax - vmin
    safe = xp.where(diff > 0, diff, 1.0)
    sector = xp.where(vmax == r, (g - b) / safe,
                      xp.where(vmax == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    if not isinstance(shift, float):         # per image, shaped (N, 1, 1, 1): drop C's axis
        shift = shift[..., 0]
    hue = (sector * 60.0 + shift * 360.0)[..., None] + xp.asarray(
        numpy.array([120.0, 0.0, -120.0], dtype=work))
    hue = xp.mod(hue, 360.0)
    ramp = xp.clip(xp.minimum(hue, 240.0 - hue) / 60.0, 0.0, 1.0)
    return vmin[..., None] + diff[..., None] * ramp


def _lighting(xp, img, pca, work):
    """``pca`` (3,) or (N, 1, 1, 3) added to the R, G, B values; a grey image unchanged."""
    img = img.astype(work, copy=False)
    if img.shape[-1] == 1:
        return img
    return img + pca


def _clip_range(xp, values, dtype):
    """Values kept within an integer dtype's range between steps (MXNet saturates)."""
    dtype = numpy.dtype(dtype)
    if dtype.kind in "ui":
        info = numpy.iinfo(dtype)
        return xp.clip(values, info.min, info.max)
    return values


class _RandomEnhance(HybridBlock):
    """Scales one property of an image by a factor drawn uniformly from
    [max(0, 1 - amount), 1 + amount]."""

    _title = ""
    _adjust = None

    def __init__(self, amount: float) -> None:
        super().__init__()
        if not isinstance(amount, numbers.Real) or amount < 0:
            raise ValueError(f"{self._title}: the jitter amount must be a number >= 0, got "
                             f"{amount!r}")
        self._args = (max(0.0, 1.0 - amount), 1.0 + amount)

    def hybrid_forward(self, F, x, *args):
        _check_image(x, self._title)
        _check_rgb(x, self._title)
        factors = host_generator().uniform(*self._args, size=_count(x))
        adjust = type(self)._adjust
        work = _work_dtype(x.dtype)

        def run(xp, img):
            return _saturate(xp, adjust(xp, img, _per_image(x, factors, xp), work), img.dtype)
        return _with_args(_raw_op(x, run), args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(min_factor={self._args[0]}, max_factor={self._args[1]})"


class RandomBrightness(_RandomEnhance):
    """Multiplies an image (H, W, C) (or each of a batch) by a factor drawn from
    [max(0, 1 - brightness), 1 + brightness]."""
    _title, _adjust = "RandomBrightness", staticmethod(_brightness)


class RandomContrast(_RandomEnhance):
    """Blends an RGB (or grey) image with its mean luma: ``x * a + (1 - a) * mean``, ``a``
    drawn from [max(0, 1 - contrast), 1 + contrast]."""
    _title, _adjust = "RandomContrast", staticmethod(_contrast)


class RandomSaturation(_RandomEnhance):
    """Blends each RGB pixel with its luma (0.299 R + 0.587 G + 0.114 B):
    ``x * a + (1 - a) * luma``, ``a`` drawn from [max(0, 1 - saturation), 1 + saturation]
    (MXNet 1.x's kernel uses the blue term only, a bug not reproduced here)."""
    _title, _adjust = "RandomSaturation", staticmethod(_saturation)


class RandomHue(_RandomEnhance):
    """Turns the hue of each RGB pixel (in HLS) by ``a`` x 360 degrees, ``a`` drawn from
    [max(0, 1 - hue), 1 + hue] (a whole turn leaves it unchanged), as MXNet."""
    _title, _adjust = "RandomHue", staticmethod(_hue)


class RandomColorJitter(HybridBlock):
    """Jitters brightness, contrast, saturation (factors 1 + U(-amount, amount)) and
    hue (a turn of U(-hue, hue)), in a random order; an amount of 0 skips that step."""

    def __init__(self, brightness: float = 0, contrast: float = 0, saturation: float = 0,
                 hue: float = 0) -> None:
        super().__init__()
        for name, value in (("brightness", brightness), ("contrast", contrast),
                            ("saturation", saturation), ("hue", hue)):
            if not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"RandomColorJitter: {name} must be a number >= 0, got "
                                 f"{value!r}")
        self._amounts = (float(brightness), float(contrast), float(saturation), float(hue))

    def hybrid_forward(self, F, x, *args):
        _check_image(x, "RandomColorJitter")
        _check_rgb(x, "RandomColorJitter")
        rng, n = host_generator(), _count(x)
        steps = []
        for index in rng.permutation(4):
            amount = self._amounts[index]
            if amount > 0:
                draw = rng.uniform(-amount, amount, size=n)
                steps.append((index, draw if index == 3 else 1.0 + draw))
        work = _work_dtype(x.dtype)
        adjusts = (_brightness, _contrast, _saturation, _hue)

        def run(xp, img):
            out = img
            for index, draws in steps:
                out = _clip_range(xp, adjusts[index](xp, out, _per_image(x, draws, xp), work),
                                  img.dtype)
            return _saturate(xp, out.astype(work, copy=False), img.dtype)
        return _with_args(_raw_op(x, run), args)

    def __repr__(self) -> str:
        b, c, s, h = self._amounts
        return f"RandomColorJitter(brightness={b}, contrast={c}, saturation={s}, hue={h})"


class RandomLighting(HybridBlock):
    """AlexNet-style PCA lighting noise: adds ``eigvec @ (alpha * eigval)`` to the R, G, B
    values of an image (each of a batch), alpha ~ N(0, ``alpha``) per component (ImageNet's
    eigenvalues and eigenvectors, as MXNet). A grey image is unchanged."""

    def __init__(self, alpha: float) -> None:
        super().__init__()
        if not isinstance(alpha, numbers.Real) or alpha < 0:
            raise ValueError(f"RandomLighting: alpha (the noise's standard deviation) must be "
                             f"a number >= 0, got {alpha!r}")
        self._alpha = float(alpha)

    def hybrid_forward(self, F, x, *args):
        _check_image(x, "RandomLighting")
        _check_rgb(x, "RandomLighting")
        alphas = host_generator().normal(0.0, self._alpha, size=(_count(x), 3))
        pca = (alphas * _EIGVAL) @ _EIGVEC.T                  # (n, 3): one RGB shift per image
        work = _work_dtype(x.dtype)

        def run(xp, img):
            shift = pca[0] if img.ndim == 3 else pca.reshape(-1, 1, 1, 3)
            return _saturate(xp, _lighting(xp, img, xp.asarray(shift.astype(work)), work),
                             img.dtype)
        return _with_args(_raw_op(x, run), args)

    def __repr__(self) -> str:
        return f"RandomLighting(alpha={self._alpha})"


# ------------------------------------------------------------------- rotation
def _zoom_scales(h: int, w: int, radians: numpy.ndarray, zoom_in: bool,
                 zoom_out: bool) -> numpy.ndarray:
    """Per-angle sampling scale: >1 shows the whole rotated image (zoom_out), <1 leaves
    no empty corner (zoom_in), 1 otherwise (MXNet's imrotate)."""
    if not (zoom_in or zoom_out):
        return numpy.ones_like(radians)
    rho, corner = math.hypot(h, w), math.atan2(h, w)
    turn = numpy.abs(radians)
    max_x = numpy.maximum(numpy.abs(rho * numpy.cos(corner + turn)),
                          numpy.abs(rho * numpy.cos(corner - turn)))
    max_y = numpy.maximum(numpy.abs(rho * numpy.sin(corner + turn)),
                          numpy.abs(rho * numpy.sin(corner - turn)))
    if zoom_out:
        return numpy.maximum(max_x / w, max_y / h)
    return numpy.minimum(w / max_x, h / max_y)


def _rotate_raw(xp, img, degrees: numpy.ndarray, zoom_in: bool, zoom_out: bool):
    """Images (N, C, H, W) turned about their centres by ``degrees`` (N,), bilinear
    sampling with zeros outside (MXNet's imrotate with BilinearSampler)."""
    n, c, h, w = img.shape
    radians = numpy.deg2rad(numpy.asarray(degrees, dtype=numpy.float64))
    scale = _zoom_scales(h, w, radians, zoom_in, zoom_out)
    cos = xp.asarray((numpy.cos(radians) * scale).reshape(-1, 1, 1))
    sin = xp.asarray((numpy.sin(radians) * scale).reshape(-1, 1, 1))
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    rows = (xp.arange(h, dtype=xp.float64) - cy).reshape(1, h, 1)
    cols = (xp.arange(w, dtype=xp.float64) - cx).reshape(1, 1, w)
    src_x = cols * cos - rows * sin + cx                       # (N, H, W)
    src_y = cols * sin + rows * cos + cy
    x0, y0 = xp.floor(src_x), xp.floor(src_y)
    fx, fy = src_x - x0, src_y - y0
    x0, y0 = x0.astype(xp.int64), y0.astype(xp.int64)
    pixels = img.transpose(0, 2, 3, 1)                          # (N, H, W, C)
    batch = xp.arange(n).reshape(-1, 1, 1)
    work = img.dtype
    out = xp.zeros((n, h, w, c), dtype=work)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            weight = xp.where(inside, wy * wx, 0.0).astype(work)[..., None]
            out += pixels[batch, xp.clip(yy, 0, h - 1), xp.clip(xx, 0, w - 1)] * weight
    return xp.ascontiguousarray(out.transpose(0, 3, 1, 2))


def _check_tensor_for_rotation(x, where: str) -> None:
    _check_image(x, where, "CHW")
    if numpy.dtype(x.dtype) != numpy.float32:
        raise TypeError(f"{where}: this transformation only supports float32 tensors "
                        f"(C, H, W) or (N, C, H, W), got {numpy.dtype(x.dtype).name}; "
                        f"apply it after ToTensor")


def _check_zoom(zoom_in: bool, zoom_out: bool, where: str) -> None:
    if zoom_in and zoom_out:
        raise ValueError(f"{where}: zoom_in and zoom_out cannot be both True")


def _rotate(x: NDArray, degrees: numpy.ndarray, zoom_in: bool, zoom_out: bool) -> NDArray:
    def run(xp, img):
        batch = img if img.ndim == 4 else img[None]
        out = _rotate_raw(xp, batch, degrees, zoom_in, zoom_out)
        return out if img.ndim == 4 else out[0]
    return _raw_op(x, run)


class Rotate(Block):
    """Turns a float32 tensor (C, H, W) (or each of a batch (N, C, H, W)) about its
    centre by ``rotation_degrees``, keeping its shape: bilinear, zeros outside.
    zoom_in: scale so that no empty corner shows; zoom_out: so that the whole image shows.
    """

    def __init__(self, rotation_degrees: float, zoom_in: bool = False,
                 zoom_out: bool = False) -> None:
        super().__init__()
        _check_zoom(zoom_in, zoom_out, "Rotate")
        self._args = (float(rotation_degrees), bool(zoom_in), bool(zoom_out))

    def forward(self, x, *args):
        _check_tensor_for_rotation(x, "Rotate")
        degrees, zoom_in, zoom_out = self._args
        return _with_args(_rotate(x, numpy.full(_count(x), degrees), zoom_in, zoom_out), args)

    def __repr__(self) -> str:
        degrees, zoom_in, zoom_out = self._args
        return f"Rotate(rotation_degrees={degrees}, zoom_in={zoom_in}, zoom_out={zoom_out})"


class RandomRotation(Block):
    """With probability ``rotate_with_proba``, turns a float32 tensor (C, H, W) (each
    image of a batch by its own angle) by an angle drawn uniformly from
    ``angle_limits`` = (lower, upper) degrees; see ``Rotate`` for zoom_in and zoom_out."""

    def __init__(self, angle_limits: Tuple[float, float], zoom_in: bool = False,
                 zoom_out: bool = False, rotate_with_proba: float = 1.0) -> None:
        super().__init__()
        lower, upper = angle_limits
        if lower >= upper:
            raise ValueError(f"RandomRotation: angle_limits must be an ordered pair "
                             f"(lower, upper), got {angle_limits!r}")
        if not 0 <= rotate_with_proba <= 1:
            raise ValueError(f"RandomRotation: rotate_with_proba must be in [0, 1], got "
                             f"{rotate_with_proba!r}")
        _check_zoom(zoom_in, zoom_out, "RandomRotation")
        self._limits = (float(lower), float(upper))
        self._zoom = (bool(zoom_in), bool(zoom_out))
        self._rotate_with_proba = float(rotate_with_proba)

    def forward(self, x, *args):
        _check_tensor_for_rotation(x, "RandomRotation")
        rng = host_generator()
        if rng.random_sample() >= self._rotate_with_proba:
            return _with_args(x, args)
        degrees = rng.uniform(*self._limits, size=_count(x))
        return _with_args(_rotate(x, degrees, *self._zoom), args)

    def __repr__(self) -> str:
        return (f"RandomRotation(angle_limits={self._limits}, zoom_in={self._zoom[0]}, "
                f"zoom_out={self._zoom[1]}, rotate_with_proba={self._rotate_with_proba})")


# ------------------------------------------------------------------- random apply
class RandomApply(Sequential):
    """Applies ``transforms`` (a Block, or a list of them, composed) to the input with
    probability ``p``, else passes it through unchanged."""

    def __init__(self, transforms, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"RandomApply: p must be a probability in [0, 1], got {p!r}")
        if isinstance(transforms, (list, tuple)):
            transforms = Compose(transforms)
        if not isinstance(transforms, Block):
            raise TypeError(f"RandomApply: transforms must be a Block or a list of Blocks, "
                            f"got {type(transforms).__name__}")
        self.transforms = transforms
        self.p = float(p)

    def forward(self, x, *args):
        if host_generator().random_sample() >= self.p:
            return _with_args(x, args)
        return _with_args(self.transforms(x), args)


class HybridRandomApply(HybridSequential):
    """``RandomApply`` for HybridBlock ``transforms`` (a HybridBlock or a list of them)."""

    def __init__(self, transforms, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"HybridRandomApply: p must be a probability in [0, 1], got {p!r}")
        if isinstance(transforms, (list, tuple)):
            transforms = HybridCompose(transforms)
        if not isinstance(transforms, HybridBlock):
            raise TypeError(f"HybridRandomApply: transforms must be a HybridBlock or a list "
                            f"of them, got {type(transforms).__name__}")
        self.transforms = transforms
        self.p = float(p)

    def hybrid_forward(self, F, x, *args):
        if host_generator().random_sample() >= self.p:
            return _with_args(x, args)
        return _with_args(self.transforms(x), args)
