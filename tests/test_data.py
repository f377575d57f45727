import pytest

from distill.data import TASKS, file_task, get_task, load_split
from distill.errors import UserError


def test_registry_has_glue_tasks():
    assert {"sst2", "mnli", "qqp"} <= set(TASKS)
    assert get_task("mnli").num_labels == 3 and get_task("mnli").is_pair


def test_sst2_splits_load_with_labels():
    dev = load_split(get_task("sst2"), "dev")
    assert len(dev) == 872
    assert set(dev["label"]) == {0, 1}
    assert dev.features["label"].names == ["negative", "positive"]


def test_pair_task_has_second_text():
    ds = load_split(get_task("qqp"), "dev", limit=5)
    assert ds.column_names == ["text", "text_b", "label"]


def test_mnli_dev_is_matched_and_mismatched_is_an_extra_report_split():
    mnli = get_task("mnli")
    assert mnli.path("dev").name == "dev_matched.tsv" and mnli.extra_dev == ("dev_mismatched",)


def test_missing_split_is_named():
    with pytest.raises(UserError, match="no 'train' split"):
        load_split(get_task("mnli"), "train")


def _task(write_file, body: str | bytes, name="d.tsv"):
    path = write_file(name, body)
    good = write_file("good.tsv", "sentence\tlabel\ngood film\t1\nbad film\t0\n")
    return file_task(good, path) if name != "good.tsv" else None, path


@pytest.mark.parametrize("body, message", [
    ("", r"d\.tsv: file is empty"),
    ("sentence\tlabel\n", r"d\.tsv: has a header but no examples"),
    ("text\tlabel\nfine\t1\n", r"d\.tsv:1: missing column\(s\) \['sentence'\]"),
    ("sentence\tsentence\tlabel\na\tb\t1\n", r"d\.tsv:1: duplicate column"),
    ("sentence\tlabel\nfine\t1\n\nok\t0\n", r"d\.tsv:3: blank line"),
    ("sentence\tlabel\nfine\t1\textra\n", r"d\.tsv:2: expected 2 fields .* found 3"),
    ("sentence\tlabel\nfine\n", r"d\.tsv:2: expected 2 fields .* found 1"),
    ("sentence\tlabel\n   \t1\n", r"d\.tsv:2: field 'sentence': empty text"),
    ("sentence\tlabel\nfine\t7\n", r"d\.tsv:2: field 'label': unknown label '7'"),
    (b"sentence\tlabel\nfine\t1\ncaf\xe9\t0\n", r"d\.tsv:3: not valid UTF-8"),
    (b"sentence\tlabel\nfine\t1\nnul\x00\t0\n", r"d\.tsv:3: NUL byte"),
])
def test_bad_dev_file_gets_one_clear_error(write_file, body, message):
    task, _ = _task(write_file, body)
    with pytest.raises(UserError, match=message):
        load_split(task, "dev")


def test_missing_file_is_named(tmp_path, write_file):
    good = write_file("good.tsv", "sentence\tlabel\ngood\t1\nbad\t0\n")
    with pytest.raises(UserError, match=r"nope\.tsv: file not found"):
        load_split(file_task(good, tmp_path / "nope.tsv"), "dev")


def test_crlf_and_bom_are_accepted(write_file):
    task, _ = _task(write_file, b"\xef\xbb\xbfsentence\tlabel\r\nfine film\t1\r\nawful\t0\r\n")
    ds = load_split(task, "dev")
    assert ds["text"] == ["fine film", "awful"] and ds["label"] == [1, 0]


def test_csv_with_quotes_and_unbalanced_quote(write_file):
    good = write_file("t.csv", 'sentence,label\n"a, quoted, text",pos\nplain,neg\n')
    task = file_task(good, good)
    assert task.label_values == ("neg", "pos")
    assert load_split(task, "train")["text"][0] == "a, quoted, text"
    bad = write_file("bad.csv", 'sentence,label\n"never closed,pos\n')
    with pytest.raises(UserError, match=r"bad\.csv:2: .*unbalanced quote"):
        load_split(file_task(good, bad), "dev")


def test_train_file_label_checks(write_file):
    one = write_file("one.tsv", "sentence\tlabel\na\t1\nb\t1\n")
    with pytest.raises(UserError, match="only one class"):
        file_task(one, one)
    neg = write_file("neg.tsv", "sentence\tlabel\na\t-1\nb\t1\n")
    with pytest.raises(UserError, match="negative label"):
        file_task(neg, neg)
    gap = write_file("gap.tsv", "sentence\tlabel\na\t0\nb\t2\n")
    with pytest.raises(UserError, match=r"0\.\.1"):
        file_task(gap, gap)
    with pytest.raises(UserError, match="expected a .tsv or .csv"):
        file_task(write_file("x.txt", "a"), one)
