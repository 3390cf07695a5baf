"""fw.data.vision.transforms against NumPy / closed-form references (and torch's
interpolate/grid_sample for the resampling), on cpu(0) and gpu(0)."""
import colorsys

import numpy as np
import pytest

import framework as fw
from framework.data.sampler import host_generator
from framework.data.vision import transforms as T

torch = pytest.importorskip("torch")
F = torch.nn.functional


def image(shape=(6, 8, 3), seed=0, dtype=np.uint8):
    values = np.random.RandomState(seed).randint(0, 256, size=shape)
    return values.astype(dtype)


def nd(array, ctx):
    return fw.nd.array(array, ctx=ctx, dtype=array.dtype)


def replay(seed):
    """The host generator as a transform seeded with ``seed`` will find it."""
    fw.random.seed(seed)
    return host_generator()


def saturate_uint8(values):
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def torch_resize(array_hwc, out_h, out_w, mode):
    """torch's interpolate (half-pixel bilinear and bicubic, floor nearest, area) on an
    (N,) H, W, C array."""
    batch = array_hwc if array_hwc.ndim == 4 else array_hwc[None]
    t = torch.from_numpy(batch.astype(np.float64)).permute(0, 3, 1, 2)
    kwargs = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    out = F.interpolate(t, size=(out_h, out_w), mode=mode, **kwargs).permute(0, 2, 3, 1).numpy()
    return out if array_hwc.ndim == 4 else out[0]


# ---------------------------------------------------------- tensors, casts
def test_to_tensor(ctx):
    x = image((5, 4, 3))
    out = T.ToTensor()(nd(x, ctx))
    assert out.shape == (3, 5, 4) and out.dtype == np.float32 and out.context == ctx
    np.testing.assert_allclose(out.asnumpy(), x.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    batch = image((2, 5, 4, 1), seed=1)
    out = T.ToTensor()(nd(batch, ctx))
    assert out.shape == (2, 1, 5, 4)
    np.testing.assert_allclose(out.asnumpy(), batch.transpose(0, 3, 1, 2) / 255.0, rtol=1e-6)
    tensor, label = T.ToTensor()(nd(x, ctx), 7)              # extra arguments pass through
    assert label == 7 and tensor.shape == (3, 5, 4)
    with pytest.raises(ValueError, match=r"ToTensor: expected an image \(H, W, C\).*\(5, 4\)"):
        T.ToTensor()(nd(x[:, :, 0], ctx))
    with pytest.raises(TypeError):
        T.ToTensor()(x)


def test_normalize(ctx):
    x = np.random.RandomState(2).rand(3, 4, 5).astype(np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(nd(x, ctx))
    expected = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5)
    batch = np.stack([x, x * 2])
    out = T.Normalize(0.5, 2.0)(nd(batch, ctx))
    np.testing.assert_allclose(out.asnumpy(), (batch - 0.5) / 2.0, rtol=1e-6)
    out = T.Normalize(mean, std)(nd(batch, ctx))
    np.testing.assert_allclose(out.asnumpy()[1], (2 * x - np.array(mean)[:, None, None])
                               / np.array(std)[:, None, None], rtol=1e-5)
    with pytest.raises(ValueError, match=r"Normalize: mean has 2 values for an input of shape "
                                         r"\(3, 4, 5\) with 3 channels"):
        T.Normalize((0.1, 0.2), 1.0)(nd(x, ctx))
    with pytest.raises(TypeError, match="Normalize: expected a float tensor.*uint8.*ToTensor"):
        T.Normalize()(nd(image((3, 4, 5)), ctx))
    with pytest.raises(ValueError, match="std must not be 0"):
        T.Normalize(0.0, (1.0, 0.0, 1.0))


def test_normalize_is_differentiable():
    x = fw.nd.array(np.ones((3, 2, 2), np.float32))
    x.attach_grad()
    with fw.autograd.record():
        y = T.Normalize(0.5, (1.0, 2.0, 4.0))(x)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy()[:, 0, 0], [1.0, 0.5, 0.25])


def test_cast(ctx):
    x = image((2, 3, 3))
    out = T.Cast()(nd(x, ctx))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.asnumpy(), x.astype(np.float32))
    assert T.Cast("float16")(nd(x, ctx)).dtype == np.float16


# ---------------------------------------------------------------- resizing
@pytest.mark.parametrize("in_hw,out_hw", [((6, 8), (9, 13)), ((9, 13), (4, 5)), ((5, 5), (5, 3))])
def test_resize_bilinear_matches_torch(ctx, in_hw, out_hw):
    x = np.random.RandomState(3).rand(*in_hw, 3).astype(np.float32) * 255
    out = T.Resize((out_hw[1], out_hw[0]))(nd(x, ctx))
    assert out.shape == out_hw + (3,) and out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), torch_resize(x, *out_hw, "bilinear"),
                               rtol=1e-5, atol=1e-3)
    u8 = image(in_hw + (3,), seed=4)                          # uint8: rounded, same dtype
    out = T.Resize((out_hw[1], out_hw[0]))(nd(u8, ctx))
    assert out.dtype == np.uint8
    expected = torch_resize(u8, *out_hw, "bilinear")
    assert np.abs(out.asnumpy().astype(int) - expected).max() <= 0.5 + 1e-3


def test_resize_nearest_and_batches(ctx):
    x = image((2, 7, 5, 3), seed=5)
    out = T.Resize((11, 3), interpolation=0)(nd(x, ctx))
    assert out.shape == (2, 3, 11, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out.asnumpy(), torch_resize(x, 3, 11, "nearest"))
    # nearest by hand: source index floor(i * in / out)
    rows, cols = np.floor(np.arange(3) * 7 / 3).astype(int), np.floor(np.arange(11) * 5 / 11)
    np.testing.assert_array_equal(out.asnumpy(), x[:, rows][:, :, cols.astype(int)])
    out = T.Resize(4)(nd(x, ctx))                             # a batch, bilinear
    np.testing.assert_allclose(out.asnumpy(), np.rint(torch_resize(x, 4, 4, "bilinear")))


def test_resize_sizes_and_closed_form(ctx):
    x = image((10, 20, 3))
    assert T.Resize(5)(nd(x, ctx)).shape == (5, 5, 3)
    assert T.Resize(5, keep_ratio=True)(nd(x, ctx)).shape == (5, 10, 3)      # short side 5
    assert T.Resize(7, keep_ratio=True)(nd(image((21, 10, 1)), ctx)).shape == (14, 7, 1)
    assert T.Resize((6, 4), keep_ratio=True)(nd(x, ctx)).shape == (4, 6, 3)  # (w, h) given
    # a constant image stays constant; a horizontal ramp is resampled linearly inside
    const = np.full((4, 6, 2), 77, np.uint8)
    np.testing.assert_array_equal(T.Resize((9, 7))(nd(const, ctx)).asnumpy(), 77)
    ramp = np.tile(np.arange(8, dtype=np.float64)[None, :, None], (2, 1, 1))
    out = T.Resize((16, 2))(nd(ramp, ctx)).asnumpy()[0, 1:-1, 0]
    np.testing.assert_allclose(out, (np.arange(1, 15) + 0.5) / 2 - 0.5)
    with pytest.raises(ValueError, match="Resize: interpolation=5 .* 0 \\(nearest\\), 1"):
        T.Resize(4, interpolation=5)
    with pytest.raises(ValueError, match="Resize: size must be"):
        T.Resize((4, 0))


@pytest.mark.parametrize("in_hw,out_hw", [((6, 8), (9, 13)), ((9, 13), (4, 5)), ((8, 12), (4, 3))])
def test_resize_bicubic_and_area_match_torch(ctx, in_hw, out_hw):
    x = np.random.RandomState(6).rand(*in_hw, 3).astype(np.float32) * 255
    out = T.Resize((out_hw[1], out_hw[0]), interpolation=2)(nd(x, ctx)).asnumpy()
    # OpenCV and torch share the cubic kernel (A = -0.75), half-pixel centres, edge clamp
    np.testing.assert_allclose(out, torch_resize(x, *out_hw, "bicubic"), rtol=1e-5, atol=1e-3)
    if in_hw[0] % out_hw[0] == 0 and in_hw[1] % out_hw[1] == 0:   # whole factors: box mean
        out = T.Resize((out_hw[1], out_hw[0]), interpolation=3)(nd(x, ctx)).asnumpy()
        np.testing.assert_allclose(out, torch_resize(x, *out_hw, "area"), rtol=1e-5, atol=1e-3)


def test_resize_area_and_lanczos_closed_forms(ctx):
    # area, shrinking 5 -> 2 columns: each output averages a 2.5-pixel footprint
    row = np.arange(5, dtype=np.float64)[None, :, None] * 10
    out = T.Resize((2, 1), interpolation=3)(nd(row, ctx)).asnumpy()[0, :, 0]
    np.testing.assert_allclose(out, [(0 + 10 + 0.5 * 20) / 2.5, (0.5 * 20 + 30 + 40) / 2.5])
    # area, enlarging 2x: OpenCV repeats each pixel (its blend weight is 0 there)
    out = T.Resize((4, 1), interpolation=3)(nd(row[:, :2], ctx)).asnumpy()[0, :, 0]
    np.testing.assert_allclose(out, [0, 0, 10, 10])
    # Lanczos-4: a constant stays constant, a sample grid at scale 1/2 of a ramp is exact
    # inside (the kernel reproduces linear functions away from the border, to 1e-3)
    const = np.full((5, 7, 2), 200, np.uint8)
    for mode in (2, 3, 4):
        np.testing.assert_array_equal(
            T.Resize((11, 9), interpolation=mode)(nd(const, ctx)).asnumpy(), 200)
    ramp = np.tile(np.arange(16, dtype=np.float64)[None, :, None], (1, 1, 1))
    out = T.Resize((32, 1), interpolation=4)(nd(ramp, ctx)).asnumpy()[0, 8:-8, 0]
    np.testing.assert_allclose(out, (np.arange(8, 24) + 0.5) / 2 - 0.5, atol=2e-2)
    lanczos = T.Resize((3, 3), interpolation=4)(nd(image((7, 8, 3), seed=2), ctx))
    assert lanczos.shape == (3, 3, 3) and lanczos.dtype == np.uint8


def test_center_crop(ctx):
    x = image((9, 12, 3), seed=6)
    out = T.CenterCrop((4, 5))(nd(x, ctx))                   # (width, height)
    np.testing.assert_array_equal(out.asnumpy(), x[2:7, 4:8])
    out = T.CenterCrop(3)(nd(x[None].repeat(2, 0), ctx))
    np.testing.assert_array_equal(out.asnumpy(), np.stack([x[3:6, 4:7]] * 2))
    # smaller than the size: the largest centred region of that aspect ratio, resized up
    small = image((4, 6, 3), seed=7)
    out = T.CenterCrop((8, 8))(nd(small, ctx))
    assert out.shape == (8, 8, 3)
    expected = T.Resize(8)(nd(np.ascontiguousarray(small[:, 1:5]), ctx))
    np.testing.assert_array_equal(out.asnumpy(), expected.asnumpy())


def test_crop_resize(ctx):
    x = image((2, 10, 12, 3), seed=8)
    out = T.CropResize(3, 2, 5, 4)(nd(x, ctx))
    np.testing.assert_array_equal(out.asnumpy(), x[:, 2:6, 3:8])
    out = T.CropResize(3, 2, 5, 4, size=(7, 3), interpolation=0)(nd(x[0], ctx))
    expected = T.Resize((7, 3), interpolation=0)(nd(np.ascontiguousarray(x[0, 2:6, 3:8]), ctx))
    np.testing.assert_array_equal(out.asnumpy(), expected.asnumpy())
    with pytest.raises(ValueError, match=r"CropResize: the region x=8, y=2, width=5, height=4 "
                                         r"does not fit in an image of shape \(10, 12, 3\)"):
        T.CropResize(8, 2, 5, 4)(nd(x[0], ctx))


def test_random_resized_crop(ctx):
    x = image((20, 30, 3), seed=9)
    crop = T.RandomResizedCrop((8, 6))
    fw.random.seed(11)
    first = crop(nd(x, ctx)).asnumpy()
    fw.random.seed(11)
    np.testing.assert_array_equal(crop(nd(x, ctx)).asnumpy(), first)
    assert first.shape == (6, 8, 3) and first.dtype == np.uint8
    # the region drawn, replayed: area fraction, log aspect ratio, then the corner
    rng = replay(12)
    area = rng.uniform(0.08, 1.0) * 600
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    w, h = int(round(np.sqrt(area * aspect))), int(round(np.sqrt(area / aspect)))
    x0, y0 = rng.randint(0, 30 - w + 1), rng.randint(0, 20 - h + 1)
    fw.random.seed(12)
    out = crop(nd(x, ctx)).asnumpy()
    expected = T.Resize((8, 6))(nd(np.ascontiguousarray(x[y0:y0 + h, x0:x0 + w]), ctx))
    np.testing.assert_array_equal(out, expected.asnumpy())
    # the whole image at its own aspect ratio: a plain resize
    whole = T.RandomResizedCrop((10, 5), scale=(1.0, 1.0), ratio=(1.5, 1.5))(nd(x, ctx))
    np.testing.assert_array_equal(whole.asnumpy(), T.Resize((10, 5))(nd(x, ctx)).asnumpy())


# -------------------------------------------------------------------- flips
@pytest.mark.parametrize("cls,axis", [(T.RandomFlipLeftRight, 1), (T.RandomFlipTopBottom, 0)])
def test_flips(ctx, cls, axis):
    x = image((4, 5, 3), seed=10)
    np.testing.assert_array_equal(cls(p=1.0)(nd(x, ctx)).asnumpy(), np.flip(x, axis))
    np.testing.assert_array_equal(cls(p=0.0)(nd(x, ctx)).asnumpy(), x)
    batch = image((6, 4, 5, 3), seed=11)
    flips = replay(3).random_sample(6) < 0.5
    fw.random.seed(3)
    out = cls()(nd(batch, ctx)).asnumpy()
    for i in range(6):                                       # each image its own draw
        np.testing.assert_array_equal(out[i], np.flip(batch[i], axis) if flips[i] else batch[i])
    assert 0 < flips.sum() < 6


# ------------------------------------------------------------------- colour
def luma(x):
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def test_brightness_contrast_saturation(ctx):
    x = image((4, 5, 3), seed=12)
    f = x.astype(np.float64)
    factor = replay(5).uniform(0.5, 1.5, size=1)[0]
    fw.random.seed(5)
    out = T.RandomBrightness(0.5)(nd(x, ctx))
    assert out.dtype == np.uint8
    np.testing.assert_allclose(out.asnumpy(), saturate_uint8(f * factor), atol=1)
    factor = replay(6).uniform(0.3, 1.7, size=1)[0]
    fw.random.seed(6)
    out = T.RandomContrast(0.7)(nd(x, ctx)).asnumpy()
    np.testing.assert_allclose(out, saturate_uint8(f * factor + (1 - factor) * luma(f).mean()),
                               atol=1)
    factor = replay(7).uniform(0.0, 2.0, size=1)[0]
    fw.random.seed(7)
    out = T.RandomSaturation(1.0)(nd(x, ctx)).asnumpy()
    np.testing.assert_allclose(out, saturate_uint8(f * factor + (1 - factor)
                                                   * luma(f)[..., None]), atol=1)
    # float images: no rounding, no clipping
    xf = f.astype(np.float32) / 255
    factor = replay(8).uniform(0.0, 3.0, size=1)[0]
    fw.random.seed(8)
    out = T.RandomBrightness(2.0)(nd(xf, ctx))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), xf * factor, rtol=1e-5)


def test_contrast_per_image_in_a_batch(ctx):
    batch = image((3, 4, 4, 3), seed=13).astype(np.float64)
    factors = replay(9).uniform(0.5, 1.5, size=3)
    fw.random.seed(9)
    out = T.RandomContrast(0.5)(nd(batch, ctx)).asnumpy()
    for i in range(3):
        expected = batch[i] * factors[i] + (1 - factors[i]) * luma(batch[i]).mean()
        np.testing.assert_allclose(out[i], expected, rtol=1e-10)


def reference_hue(x, turn):
    out = np.empty_like(x)
    for index in np.ndindex(x.shape[:-1]):
        h, l, s = colorsys.rgb_to_hls(*(x[index] / 255.0))
        out[index] = np.array(colorsys.hls_to_rgb((h + turn) % 1.0, l, s)) * 255.0
    return out


def test_hue(ctx):
    x = image((5, 6, 3), seed=14).astype(np.float64)
    x[0, 0] = (40, 40, 40)                                   # grey pixels keep their value
    turn = replay(10).uniform(0.8, 1.2, size=1)[0]
    fw.random.seed(10)
    out = T.RandomHue(0.2)(nd(x, ctx)).asnumpy()
    np.testing.assert_allclose(out, reference_hue(x, turn), atol=1e-6)
    np.testing.assert_allclose(out[0, 0], (40, 40, 40), atol=1e-9)
    u8 = x.astype(np.uint8)
    fw.random.seed(10)
    out = T.RandomHue(0.2)(nd(u8, ctx)).asnumpy()
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - reference_hue(u8.astype(np.float64), turn)).max() <= 0.5 + 1e-4
    grey = image((3, 3, 1), seed=15)
    np.testing.assert_array_equal(T.RandomHue(0.5)(nd(grey, ctx)).asnumpy(), grey)


def test_hue_per_image_in_a_batch(ctx):
    batch = image((3, 2, 3, 3), seed=26).astype(np.float64)
    turns = replay(16).uniform(0.5, 1.5, size=3)
    fw.random.seed(16)
    out = T.RandomHue(0.5)(nd(batch, ctx)).asnumpy()
    assert out.shape == batch.shape
    for i in range(3):
        np.testing.assert_allclose(out[i], reference_hue(batch[i], turns[i]), atol=1e-6)


def test_lighting(ctx):
    x = image((3, 4, 3), seed=16).astype(np.float64)
    alphas = replay(11).normal(0, 0.1, size=(1, 3))[0]
    eigval = np.array([55.46, 4.794, 1.148])
    eigvec = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])
    fw.random.seed(11)
    out = T.RandomLighting(0.1)(nd(x, ctx)).asnumpy()
    np.testing.assert_allclose(out, x + eigvec @ (alphas * eigval), rtol=1e-10)
    np.testing.assert_array_equal(T.RandomLighting(0.0)(nd(x, ctx)).asnumpy(), x)


def test_color_jitter(ctx):
    x = image((4, 4, 3), seed=17)
    rng = replay(12)
    rng.permutation(4)
    factor = 1 + rng.uniform(-0.4, 0.4, size=1)[0]
    fw.random.seed(12)
    out = T.RandomColorJitter(brightness=0.4)(nd(x, ctx)).asnumpy()
    np.testing.assert_allclose(out, saturate_uint8(x * factor), atol=1)
    jitter = T.RandomColorJitter(0.3, 0.3, 0.3, 0.1)
    fw.random.seed(13)
    first = jitter(nd(x, ctx))
    fw.random.seed(13)
    second = jitter(nd(x, ctx))
    assert first.dtype == np.uint8 and first.shape == x.shape
    np.testing.assert_array_equal(first.asnumpy(), second.asnumpy())
    np.testing.assert_array_equal(T.RandomColorJitter()(nd(x, ctx)).asnumpy(), x)
    with pytest.raises(ValueError, match=r"RandomColorJitter: expected 1 \(grey\) or 3 \(RGB\) "
                                         r"channels .* shape \(4, 4, 2\)"):
        jitter(nd(x[:, :, :2].copy(), ctx))


# ------------------------------------------------------------------ rotation
def test_rotate_quarter_turn_and_identity(ctx):
    x = np.random.RandomState(18).rand(2, 5, 5).astype(np.float32)
    out = T.Rotate(90)(nd(x, ctx)).asnumpy()
    np.testing.assert_allclose(out, np.rot90(x, 1, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(T.Rotate(0)(nd(x, ctx)).asnumpy(), x, atol=1e-6)
    with pytest.raises(TypeError, match="Rotate: this transformation only supports float32"):
        T.Rotate(10)(nd(image((3, 4, 4)), ctx))


def test_rotation_matches_torch_grid_sample(ctx):
    x = np.random.RandomState(19).rand(2, 3, 6, 9).astype(np.float32)
    degrees = np.array([17.0, -40.0])
    rng = replay(14)
    rng.random_sample()
    drawn = rng.uniform(-45, 45, size=2)
    fw.random.seed(14)
    out = T.RandomRotation((-45, 45))(nd(x, ctx)).asnumpy()
    for angles, got in ((drawn, out),
                        (degrees, np.stack([T.Rotate(d)(nd(x[i], ctx)).asnumpy()
                                            for i, d in enumerate(degrees)]))):
        theta = np.deg2rad(angles)
        h, w = 6, 9
        rows, cols = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2,
                                 indexing="ij")
        src_x = cols * np.cos(theta)[:, None, None] - rows * np.sin(theta)[:, None, None]
        src_y = cols * np.sin(theta)[:, None, None] + rows * np.cos(theta)[:, None, None]
        grid = np.stack([src_x / ((w - 1) / 2), src_y / ((h - 1) / 2)], axis=-1)
        expected = F.grid_sample(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(grid),
                                 mode="bilinear", padding_mode="zeros", align_corners=True)
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)


def test_rotation_zoom(ctx):
    x = np.ones((1, 8, 8), np.float32)
    plain = T.Rotate(45)(nd(x, ctx)).asnumpy()
    zoom_in = T.Rotate(45, zoom_in=True)(nd(x, ctx)).asnumpy()
    zoom_out = T.Rotate(45, zoom_out=True)(nd(x, ctx)).asnumpy()
    assert plain[0, 0, 0] == 0 and plain[0, 4, 4] == pytest.approx(1)   # empty corners
    np.testing.assert_allclose(zoom_in, 1.0, atol=1e-5)                  # no empty corner
    assert zoom_out.sum() < plain.sum()                                  # smaller image
    with pytest.raises(ValueError, match="zoom_in and zoom_out cannot be both True"):
        T.RandomRotation((-5, 5), zoom_in=True, zoom_out=True)
    with pytest.raises(ValueError, match="angle_limits must be an ordered pair"):
        T.RandomRotation((5, -5))


def test_random_rotation_probability(ctx):
    x = np.random.RandomState(20).rand(3, 4, 4).astype(np.float32)
    same, label = T.RandomRotation((10, 20), rotate_with_proba=0.0)(nd(x, ctx), 3)
    np.testing.assert_array_equal(same.asnumpy(), x)
    assert label == 3


# -------------------------------------------------------------- composition
def test_compose_groups_hybrid_blocks_and_passes_labels(ctx):
    compose = T.Compose([T.Resize(6), T.CenterCrop(4), T.ToTensor(), T.Normalize(0.5, 0.25),
                         T.RandomRotation((-1, 1), rotate_with_proba=0.0), lambda x: x * 2])
    kinds = [type(block).__name__ for block in compose._children.values()]
    assert kinds == ["Resize", "CenterCrop", "HybridSequential", "RandomRotation",
                     "_FunctionTransform"]
    x = image((8, 10, 3), seed=21)
    out, label = compose(nd(x, ctx), 5)
    assert label == 5 and out.shape == (3, 4, 4) and out.dtype == np.float32
    step = T.CenterCrop(4)(T.Resize(6)(nd(x, ctx))).asnumpy()
    expected = (step.transpose(2, 0, 1) / 255.0 - 0.5) / 0.25 * 2
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5, atol=1e-5)
    hybrid = T.HybridCompose([T.Cast(), T.RandomFlipLeftRight(1.0)])
    np.testing.assert_array_equal(hybrid(nd(x, ctx)).asnumpy(), np.flip(x, 1).astype(np.float32))
    with pytest.raises(ValueError, match="Children of HybridBlock must also be HybridBlock"):
        T.HybridCompose([T.CenterCrop(3)])


def test_random_apply(ctx):
    x = image((4, 4, 3), seed=22)
    flip = T.RandomFlipLeftRight(1.0)
    np.testing.assert_array_equal(T.RandomApply(flip, p=1.0)(nd(x, ctx)).asnumpy(),
                                  np.flip(x, 1))
    np.testing.assert_array_equal(T.RandomApply([flip], p=0.0)(nd(x, ctx)).asnumpy(), x)
    applied = replay(15).random_sample() < 0.5
    fw.random.seed(15)
    out = T.HybridRandomApply(flip, p=0.5)(nd(x, ctx)).asnumpy()
    np.testing.assert_array_equal(out, np.flip(x, 1) if applied else x)
    with pytest.raises(TypeError, match="HybridRandomApply: transforms must be a HybridBlock"):
        T.HybridRandomApply(T.CenterCrop(2))


@pytest.mark.parametrize("make", [
    lambda: T.RandomFlipLeftRight(), lambda: T.RandomFlipTopBottom(),
    lambda: T.RandomBrightness(0.5), lambda: T.RandomContrast(0.5),
    lambda: T.RandomSaturation(0.5), lambda: T.RandomHue(0.3),
    lambda: T.RandomColorJitter(0.4, 0.4, 0.4, 0.2), lambda: T.RandomLighting(0.2),
    lambda: T.RandomResizedCrop(5), lambda: T.RandomApply(T.RandomBrightness(0.9)),
    lambda: T.Compose([T.ToTensor(), T.RandomRotation((-30, 30))]),
], ids=["flip_lr", "flip_tb", "brightness", "contrast", "saturation", "hue", "jitter",
        "lighting", "resized_crop", "apply", "rotation"])
def test_seeded_repeatability(make):
    transform = make()
    batch = nd(image((4, 9, 9, 3), seed=23), fw.cpu())
    single = nd(image((9, 9, 3), seed=24), fw.cpu())
    for x in (batch, single):
        outs = []
        for _ in range(2):
            fw.random.seed(42)
            outs.append([transform(x).asnumpy() for _ in range(3)])
        for a, b in zip(*outs):
            np.testing.assert_array_equal(a, b)
        assert any(not np.array_equal(outs[0][0], o) for o in outs[0][1:])  # new draws


def test_same_results_on_both_contexts():
    x = image((2, 7, 9, 3), seed=25)
    pipeline = T.Compose([T.RandomResizedCrop((6, 5)), T.RandomFlipLeftRight(),
                          T.RandomColorJitter(0.3, 0.3, 0.3, 0.1), T.RandomLighting(0.1),
                          T.ToTensor(), T.Normalize((0.4, 0.5, 0.6), (0.2, 0.2, 0.2)),
                          T.RandomRotation((-20, 20), zoom_in=True)])
    results = []
    for ctx in (fw.cpu(0), fw.gpu(0)):
        fw.random.seed(7)
        out = pipeline(nd(x, ctx))
        assert out.context == ctx
        results.append(out.asnumpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-6)


def test_reprs():
    assert repr(T.Resize(4)) == "Resize(size=4, keep_ratio=False, interpolation=1)"
    assert repr(T.RandomFlipLeftRight()) == "RandomFlipLeftRight(p=0.5)"
    assert repr(T.ToTensor()) == "ToTensor()"
