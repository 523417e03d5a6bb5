"""pandas and Dask reading and writing dfs:// URLs through fsspec, as they
read any other file system (Dask here with its local schedulers; the
distributed scheduler and locality are tests/python/test_dask_locality's
subject)."""

import dask
import dask.bag as db
import dask.dataframe as dd
import pandas as pd
import pytest

from conftest import SMALL_CLUSTER

pytestmark = SMALL_CLUSTER


def frame(n, seed=0):
    return pd.DataFrame({
        "id": range(seed * 100000, seed * 100000 + n),
        "name": ["name-%d" % (i * 7 % 1000) for i in range(n)],
        "value": [(i * 37 % 1001) / 10 for i in range(n)],
    })


def test_pandas_read_csv_of_a_file_written_by_dfs(url, client, base):
    df = frame(5000)
    with client.open(base + "/in.csv", "w") as f:
        df.to_csv(f, index=False)
    got = pd.read_csv(url + base + "/in.csv")
    pd.testing.assert_frame_equal(got, df)
    # Only some columns, some rows: still right.
    part = pd.read_csv(url + base + "/in.csv", usecols=["id"], nrows=10)
    assert part["id"].tolist() == list(range(10))


def test_pandas_to_csv_and_back(url, client, base):
    df = frame(20000, 1)
    df.to_csv(url + base + "/out/df.csv", index=False)   # parents created
    st = client.stat(base + "/out/df.csv")
    assert st.complete and st.size > 0
    pd.testing.assert_frame_equal(pd.read_csv(url + base + "/out/df.csv"), df)
    # Compressed, inferred from the name both ways.
    df.to_csv(url + base + "/out/df.csv.gz", index=False)
    with client.open(base + "/out/df.csv.gz") as f:
        assert f.read(2) == b"\x1f\x8b"
    pd.testing.assert_frame_equal(pd.read_csv(url + base + "/out/df.csv.gz"),
                                  df)
    # Other formats go through the same file objects.
    df.to_json(url + base + "/out/df.json", orient="records", lines=True)
    pd.testing.assert_frame_equal(
        pd.read_json(url + base + "/out/df.json", orient="records",
                     lines=True), df)


def write_parts(client, base, n=4, rows=5000):
    frames = [frame(rows, i) for i in range(n)]
    for i, df in enumerate(frames):
        with client.open("%s/parts/part-%d.csv" % (base, i), "w",
                         parents=True, block_size=65536) as f:
            df.to_csv(f, index=False)
    return pd.concat(frames, ignore_index=True)


def test_dask_dataframe_read_csv_of_a_glob(url, client, base):
    whole = write_parts(client, base)
    assert client.stat(base + "/parts/part-0.csv").size > 65536
    # Small blocksize: several partitions per file, split at line ends.
    ddf = dd.read_csv(url + base + "/parts/part-*.csv", blocksize=50000)
    assert ddf.npartitions > 4
    got = ddf.compute(scheduler="sync").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, whole)
    with dask.config.set(scheduler="threads", num_workers=4):
        assert ddf["value"].sum().compute() == pytest.approx(
            whole["value"].sum())
        assert len(ddf) == len(whole)
        assert ddf.groupby("name")["id"].count().compute().sum() == len(whole)


def test_dask_dataframe_to_csv_and_back(url, client, base):
    whole = frame(10000, 2)
    ddf = dd.from_pandas(whole, npartitions=3)
    ddf.to_csv(url + base + "/dout/part-*.csv", index=False,
               compute_kwargs={"scheduler": "sync"})
    assert client.listdir(base + "/dout") == ["part-0.csv", "part-1.csv",
                                              "part-2.csv"]
    back = dd.read_csv(url + base + "/dout/part-*.csv").compute(
        scheduler="sync").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, whole)


def test_dask_bag_read_text(url, client, base):
    lines = {}
    for i in range(3):
        text = "".join("file %d line %d\n" % (i, j) for j in range(4000))
        lines[i] = text.splitlines(keepends=True)
        with client.open("%s/text/%d.txt" % (base, i), "w", parents=True,
                         block_size=65536) as f:
            f.write(text)
    b = db.read_text(url + base + "/text/*.txt")
    assert b.npartitions == 3
    assert b.count().compute(scheduler="threads") == 12000
    assert b.compute(scheduler="sync") == lines[0] + lines[1] + lines[2]
    # Split into byte ranges (aligned to lines): the same lines.
    b2 = db.read_text(url + base + "/text/*.txt", blocksize=20000)
    assert b2.npartitions > 3
    got = b2.compute(scheduler="threads")
    assert got == lines[0] + lines[1] + lines[2]
    words = b2.map(str.split).flatten().frequencies().compute(
        scheduler="sync")
    assert dict(words)["line"] == 12000
