import pytest

from vdedup_lib.config import Config


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
