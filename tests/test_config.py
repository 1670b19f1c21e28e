import pytest

from vdedup_lib.config import Config, check_epsilon, check_min_samples


def test_defaults_are_safe_and_complete():
    c = Config()
    for name in ("videos_dir", "extensions", "batch_size", "embedding_size", "video_resize",
                 "epsilon", "delete_files"):
        assert hasattr(c, name)
    assert c.delete_files is False
    assert 0 < c.epsilon < 1
    assert ".mp4" in c.extensions and ".ogv" in c.extensions


def test_extensions_are_normalised():
    c = Config(extensions=("MP4", ".MkV"))
    assert c.extensions == (".mp4", ".mkv")


@pytest.mark.parametrize("field,value", [("epsilon", 0.0), ("epsilon", 2.5), ("batch_size", 0),
                                         ("video_resize", 8), ("embedding_size", 0),
                                         ("seconds_between_frames", 0),
                                         ("max_frames_per_video", 0), ("min_samples", 0)])
def test_bad_values_are_named(field, value):
    with pytest.raises(ValueError) as e:
        Config(**{field: value})
    assert field in str(e.value) and repr(value) in str(e.value)


def test_replace_and_to_dict():
    c = Config(videos_dir="x").replace(epsilon=0.3)
    d = c.to_dict()
    assert d["epsilon"] == 0.3 and d["videos_dir"] == "x"
    assert isinstance(d["extensions"], list)


def test_checks_name_the_bad_value():
    assert check_epsilon(0.3) == 0.3 and check_min_samples(2) == 2
    with pytest.raises(ValueError, match=r"^radius must be a cosine distance in \(0, 2\), got 2.0$"):
        check_epsilon(2.0, name="radius")
    with pytest.raises(ValueError, match=r"^epsilon .* got -0.1$"):
        check_epsilon(-0.1)
    with pytest.raises(ValueError, match=r"^min_samples must be >= 1, got 0$"):
        check_min_samples(0)


def test_sampling_defaults_have_one_source():
    """Config and the dataset take their sampling defaults from the same constants."""
    import inspect

    from vdedup_lib import config
    from vdedup_lib.dataset import VideosDataset, sample_frames

    c = Config()
    ds = inspect.signature(VideosDataset.__init__).parameters
    sf = inspect.signature(sample_frames).parameters
    pairs = [("video_resize", "resize", config.DEFAULT_VIDEO_RESIZE),
             ("seconds_between_frames", "seconds_between_frames",
              config.DEFAULT_SECONDS_BETWEEN_FRAMES),
             ("max_frames_per_video", "max_frames", config.DEFAULT_MAX_FRAMES_PER_VIDEO),
             ("min_frames_per_video", "min_frames", config.DEFAULT_MIN_FRAMES_PER_VIDEO)]
    for field, sf_name, value in pairs:
        assert getattr(c, field) == ds[field].default == sf[sf_name].default == value, field
    assert c.keyframe_sampling == ds["keyframe_sampling"].default == config.DEFAULT_KEYFRAME_SAMPLING


def test_config_is_keyword_only():
    with pytest.raises(TypeError):
        Config("videos")  # noqa
