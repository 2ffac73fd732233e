"""Tables read in batches from a file, a folder or a glob, and written whole or not at all.

Scoring input can be larger than memory, so it is never loaded at once:
Parquet is streamed a record batch at a time with pyarrow, CSV a chunk at a
time with pandas' C parser. CSV goes through pandas rather than pyarrow's
streaming reader because pyarrow fixes each column's type from the first block
and fails on a later block that disagrees (a number column with a stray word
in row 2,000,000), where scoring must instead set that one row aside; pandas
infers per chunk, as training's reader did.
"""

from __future__ import annotations

import glob
import os
import queue
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Iterable, Iterator, Sequence, TypeVar

import pandas as pd

from components.data import TABLE_SUFFIXES, table_format
from components.errors import JidoError

T = TypeVar("T")

# Rows per batch: ~100k rows of 20 columns is ~16 MB of float64, large enough
# that per-batch costs vanish, small enough that memory stays flat.
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class InputFiles:
    """The tables an input names, in the order they are scored.

    Attributes:
        files: CSV and Parquet files, sorted by path.
        skipped: Other files in a named folder (not tables), left alone.
    """

    files: tuple[Path, ...]
    skipped: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Partition:
    """Part of the input scored as one piece: a whole file, or a run of a Parquet file's row groups.

    Attributes:
        first_row: The file's row (0-based) the partition starts at, for messages.
        n_rows: Rows it holds, when known from a Parquet footer.
    """

    path: Path
    row_groups: tuple[int, ...] | None = None
    first_row: int = 0
    n_rows: int | None = None

    def __str__(self) -> str:
        if self.row_groups is None:
            return str(self.path)
        return f"{self.path}, rows {self.first_row + 1}-{self.first_row + (self.n_rows or 0)}"


def partitions(files: Sequence[Path], partition_rows: int) -> list[Partition]:
    """The input split for parallel scoring: Parquet files into runs of whole row groups of about ``partition_rows``, CSV files whole.

    A CSV file is not split: a byte range cannot be cut at a row boundary
    safely when quoted values hold line breaks.

    Raises:
        JidoError: a Parquet footer cannot be read.
    """
    import pyarrow.parquet as pq

    found = []
    for path in files:
        table_columns(path)  # an empty or unreadable file is named as scoring names it
        if table_format(path) != "parquet":
            found.append(Partition(path))
            continue
        with _read_errors(path):
            metadata = pq.ParquetFile(path).metadata
        groups, start, rows = [], 0, 0
        for group in range(metadata.num_row_groups):
            groups.append(group)
            rows += metadata.row_group(group).num_rows
            if rows >= partition_rows:
                found.append(Partition(path, tuple(groups), start, rows))
                groups, start, rows = [], start + rows, 0
        if groups or not found or found[-1].path != path:
            found.append(Partition(path, tuple(groups), start, rows))
    return found


def _is_hidden(path: Path) -> bool:
    # Marker and temporary files that writers leave beside their output (_SUCCESS, .part-0.crc, our own .partial files).
    return path.name.startswith((".", "_"))


def resolve_input(input: str | Path) -> InputFiles:
    """The table files named by ``input``: one file, every table in a folder, or a glob's matches.

    Raises:
        JidoError: nothing is found, or a named file is not CSV or Parquet.
    """
    text = str(input)
    path = Path(text)
    if path.is_file():
        table_format(path)
        return InputFiles((path,))
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and not _is_hidden(p))
        tables = tuple(p for p in found if p.suffix.lower() in TABLE_SUFFIXES)
        if not tables:
            raise JidoError(f"input folder {path} holds no .csv or .parquet files")
        return InputFiles(tables, tuple(p for p in found if p not in tables))
    if glob.has_magic(text):
        matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file() and not _is_hidden(Path(p)))
        tables = tuple(p for p in matches if p.suffix.lower() in TABLE_SUFFIXES)
        if not tables:
            raise JidoError(f"input pattern {text!r} matches no .csv or .parquet files")
        return InputFiles(tables, tuple(p for p in matches if p not in tables))
    raise JidoError(f"input not found: {text} (give a .csv or .parquet file, a folder of them, or a glob such as 'data/*.parquet')")


@contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Turns a reader's failure into a JidoError that names the file and what to do."""
    import pyarrow as pa

    try:
        yield
    except pd.errors.EmptyDataError:
        raise JidoError(f"{path} has no header") from None
    except UnicodeDecodeError as error:
        raise JidoError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8") from None
    except (pd.errors.ParserError, pa.ArrowException, OSError, ValueError) as error:
        raise JidoError(f"cannot read {path} as {table_format(path)}: {error}") from None


def table_columns(path: Path) -> list[str]:
    """A table's column names, read from its header or Parquet footer only.

    Raises:
        JidoError: the file is empty, truncated, corrupt or not valid UTF-8 text.
    """
    import pyarrow.parquet as pq

    if path.stat().st_size == 0:
        raise JidoError(f"{path} is empty (0 bytes)")
    with _read_errors(path):
        if table_format(path) == "parquet":
            return [str(name) for name in pq.ParquetFile(path).schema_arrow.names]
        return [str(name) for name in pd.read_csv(path, nrows=0).columns]


def read_batches(
    path: Path, batch_rows: int = BATCH_ROWS, row_groups: Sequence[int] | None = None, categories: Collection[str] = ()
) -> Iterator[pd.DataFrame]:
    """Yields ``path``'s rows in order, at most ``batch_rows`` at a time, with string column names.

    ``row_groups`` reads only those row groups of a Parquet file. Text columns
    of a Parquet file named in ``categories`` come as pandas categoricals of
    their values: decoded from the file's dictionary pages without making a
    string per cell. On 100,000 rows of 16 numbers and 4 such columns, decoding
    took 21 ms of CPU instead of 95 ms, and the featurizer's codes per column
    1.5 ms instead of 22 ms.

    Raises:
        JidoError: the file is truncated, corrupt or not valid UTF-8 text (possibly after some batches).
    """
    import pyarrow.parquet as pq

    with _read_errors(path):
        if table_format(path) == "parquet":
            # pre_buffer (pyarrow's default) keeps every row group it has read cached until the file is closed:
            # memory grew by the whole input (0.7 GB per 4 million rows here). Without it memory stays flat, and reads are no slower.
            # Decoded on the calling (read-ahead) thread alone: pyarrow's pool of a thread per core would take
            # cores from the model's threads, which are predicting the batch before (see components.score).
            fields = pq.read_schema(path) if categories else None  # the footer read once more, only when asked
            text = [name for name in categories if name in fields.names and _is_text(fields.field(name).type)] if fields else None
            reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20, read_dictionary=text or None)
            groups = None if row_groups is None else list(row_groups)
            for batch in reader.iter_batches(batch_size=batch_rows, row_groups=groups, use_threads=False):
                frame = batch.to_pandas(use_threads=False)
                frame.columns = [str(c) for c in frame.columns]
                yield frame
        else:
            with pd.read_csv(path, chunksize=batch_rows, low_memory=False) as chunks:
                for frame in chunks:
                    frame.columns = [str(c) for c in frame.columns]
                    yield frame


def _is_text(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)


def _parquet_writer(path: Path, schema):
    """A Parquet writer that dictionary-encodes every column but floating-point ones.

    pyarrow tries a dictionary for every column of every row group and falls
    back to plain encoding once it outgrows its page; measured floats (the
    input's numbers, the probabilities) nearly always do. On 2,000,000 scored
    rows of 26 columns, skipping them took 1.2 s of CPU instead of 4.2 s and
    wrote 279 MiB instead of 348 MiB; categories, labels, the model's name and
    ``scored_at`` keep their dictionaries.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    encoded = [field.name for field in schema if not pa.types.is_floating(field.type)]
    return pq.ParquetWriter(path, schema, use_dictionary=encoded)


class AtomicTableWriter:
    """Writes a CSV or Parquet table batch by batch under a temporary name; :meth:`commit` renames it into place.

    Anything short of a commit (an error, a kill) leaves no file at ``path`` and
    an older file there untouched: :meth:`discard` removes the temporary file,
    and a killed process leaves only a hidden ``.NAME.*.partial`` beside it.

    Every batch of a Parquet table must fit the first batch's schema: a column
    whose type widens (integers, then floats; all-null, then values) is cast;
    one that cannot be cast is refused, naming the column.
    """

    def __init__(self, path: str | Path, make_folders: bool = True):
        self.path = Path(path)
        self.make_folders = make_folders
        self.format = table_format(self.path)
        self.n_rows = 0
        self._temporary: Path | None = None
        self._parquet = None
        self._csv = None
        self._columns: list[str] | None = None
        self._created: list[Path] = []

    def _open(self) -> None:
        # Folders this writer creates are removed again by discard(), so a failed run leaves no empty rejected/.
        if self.make_folders:
            self._created = [p for p in [self.path.parent, *self.path.parent.parents] if not p.exists()]
            self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
        os.close(handle)
        self._temporary = Path(temporary)

    def write(self, frame: pd.DataFrame) -> None:
        """Appends ``frame``'s rows."""
        if self._temporary is None:
            self._open()
        if self._columns is None:
            self._columns = list(frame.columns)
        elif list(frame.columns) != self._columns:
            frame = frame[same_columns(list(frame.columns), self._columns)]
        if self.format == "csv":
            if self._csv is None:
                self._csv = open(self._temporary, "w", newline="", encoding="utf-8")
                frame.to_csv(self._csv, index=False)
            else:
                frame.to_csv(self._csv, index=False, header=False)
        else:
            self._write_parquet(frame)
        self.n_rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = _parquet_writer(self._temporary, table.schema)
        schema = self._parquet.schema
        if not table.schema.equals(schema):
            table = _conform(table, schema)
        self._parquet.write_table(table)

    def append_file(self, part: Path, n_rows: int) -> None:
        """Appends a finished table of the same format and columns (a partition scored elsewhere) holding ``n_rows`` rows.

        Parquet is copied a record batch at a time; CSV byte for byte, less its header once this table has one.
        """
        if self._temporary is None:
            self._open()
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(part, pre_buffer=False, buffer_size=1 << 20).iter_batches(batch_size=BATCH_ROWS):
                table = pa.Table.from_batches([batch])
                if self._parquet is None:
                    self._columns = list(table.schema.names)
                    self._parquet = _parquet_writer(self._temporary, table.schema)
                elif table.schema.names != self._columns:
                    table = table.select(same_columns(list(table.schema.names), self._columns))
                if not table.schema.equals(self._parquet.schema):
                    table = _conform(table, self._parquet.schema)
                self._parquet.write_table(table)
        else:
            columns = [str(c) for c in pd.read_csv(part, nrows=0).columns]
            header = pd.DataFrame(columns=columns).to_csv(index=False).encode("utf-8")
            with open(part, "rb") as source:
                if self._csv is None:
                    self._columns = columns
                    self._csv = open(self._temporary, "w", newline="", encoding="utf-8")
                else:
                    if columns != self._columns:
                        same_columns(columns, self._columns)  # names the difference
                        raise JidoError("input files list the same columns in different orders; give every file one column order, or score to .parquet")
                    source.seek(len(header))
                self._csv.flush()
                shutil.copyfileobj(source, self._csv.buffer, length=1 << 20)
        self.n_rows += n_rows

    def _close(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def commit(self, empty: pd.DataFrame | None = None) -> Path:
        """Renames the finished table into place; with no rows written, writes ``empty`` (the header) instead."""
        if self._temporary is None:
            if empty is None:
                raise ValueError("nothing was written and no empty table was given")
            self.write(empty)
        self._close()
        # mkstemp creates the file private (0600); give it the permissions a plain write would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._temporary, 0o666 & ~umask)
        os.replace(self._temporary, self.path)
        self._temporary = None
        self._created = []
        return self.path

    def discard(self) -> None:
        """Removes the unfinished table (safe to call twice, or after a commit)."""
        self._close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            self._temporary = None
            for folder in self._created:  # innermost first
                try:
                    folder.rmdir()
                except OSError:  # not empty: something else was written there meanwhile
                    break
        self._created = []

    def __enter__(self) -> "AtomicTableWriter":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.discard()


def same_columns(given: list[str], first: list[str]) -> list[str]:
    """``first``, the column order of the table's first batch, when ``given`` holds the same columns."""
    missing, extra = [c for c in first if c not in given], [c for c in given if c not in first]
    if missing or extra:
        parts = ([f"lacks {', '.join(map(repr, missing))}"] if missing else []) + ([f"adds {', '.join(map(repr, extra))}"] if extra else [])
        raise JidoError(f"a batch {' and '.join(parts)} against the first batch's columns; give every input file the same columns")
    return first


def _conform(table, schema):
    import pyarrow as pa

    columns = []
    for field in schema:
        column = table.column(field.name)
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise JidoError(
                f"column {field.name!r} changes type between batches ({field.type} first, then {column.type}); "
                "give it one type in every file, or score to .csv"
            ) from None
    return pa.Table.from_arrays(columns, schema=schema)


_DONE = object()


def prefetched(batches: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yields ``batches`` in order while a thread reads up to ``depth`` ahead.

    pyarrow decodes Parquet without the GIL, so the next batch is read while
    this one is checked and scored. An error in the reader is raised here, in
    order, after the batches before it.
    """
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ahead.put((batch, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put((_DONE, None))
        except BaseException as error:  # handed to the consumer, which raises it
            ahead.put((_DONE, error))

    reader = threading.Thread(target=read, name="jido-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            batch, error = ahead.get()
            if error is not None:
                raise error
            if batch is _DONE:
                return
            yield batch
    finally:
        stop.set()
        reader.join(timeout=5)


class WriteBehind:
    """Hands batches to an :class:`AtomicTableWriter` on a thread, so encoding and writing overlap the next batch's scoring.

    At most ``depth`` batches wait. :meth:`drain` waits for every batch to be
    written and raises the writer's error, if any; commit or discard the
    writer only after it.
    """

    def __init__(self, writer: AtomicTableWriter, depth: int = 2):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="jido-write-behind", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is _DONE:
                return
            if self._error is None:
                try:
                    self.writer.write(frame)
                except BaseException as error:  # raised by drain() or the next write()
                    self._error = error

    def write(self, frame: pd.DataFrame) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(frame)

    def drain(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        if self._error is not None:
            raise self._error


@contextmanager
def staging_folder(output: str | Path) -> Iterator[Path]:
    """A hidden folder beside ``output`` for the partitions of a scoring run; removed afterwards, whatever happens.

    It sits beside the output so that workers sharing the output's file
    system can write there. A killed run leaves only a hidden ``.NAME.*.parts`` folder.
    """
    output = Path(output)
    created = [p for p in [output.parent, *output.parent.parents] if not p.exists()]
    output.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".parts", dir=output.parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for parent in created:  # innermost first; kept when the output was written there
            try:
                parent.rmdir()
            except OSError:
                break


def write_table_atomic(frame: pd.DataFrame, path: str | Path) -> Path:
    """Writes a whole CSV or Parquet table (by extension) atomically: completely, or not at all."""
    with AtomicTableWriter(path) as writer:
        writer.write(frame)
        return writer.commit()
