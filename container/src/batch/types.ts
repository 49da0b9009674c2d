/** Options, results and the messages the batch mode's main thread and its model workers exchange. */
import type { ModelManifest } from '../../../contract/manifest';

/** Dataset formats: CSV with a header row, one JSON value per line, or Parquet (columns named as the features). */
export type BatchFormat = 'csv' | 'jsonl' | 'parquet';
export const BATCH_FORMATS: readonly BatchFormat[] = ['csv', 'jsonl', 'parquet'];

export interface BatchOptions {
  /** Model directory (`model.json` + ONNX file). */
  readonly model: string;
  /** Local path or `s3://bucket/key`. */
  readonly input: string;
  /** Local path or `s3://bucket/key`; a trailing `/` names a prefix and the file is `<input name>.out`. */
  readonly output: string;
  /** Input format. @default - from the input's extension: `.jsonl`/`.ndjson` are JSON Lines, `.parquet` Parquet, anything else CSV */
  readonly format?: BatchFormat;
  /** Output format. @default - from the output's extension, else the input format */
  readonly outputFormat?: BatchFormat;
  /** Column (CSV) or key (JSON Lines) holding each row's id; rows without one are numbered. @default 'id' */
  readonly idColumn?: string;
  /** Rows per `session.run`. @default 2048 */
  readonly chunkRows?: number;
  /** Model workers, each with its own onnxruntime session. @default - one per core */
  readonly workers?: number;
  /** Where rejected rows go (JSON Lines with the reason). @default - `<output>.rejects.jsonl` */
  readonly rejects?: string;
  /** Prints progress to stderr. @default - when stderr is a TTY */
  readonly progress?: boolean;
  /** Environment to read `MLSHIP_S3_URL` and `AWS_REGION` from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Worker script for bundled builds. @default - `batch-worker.js` beside the running bundle */
  readonly workerScript?: string;
}

export interface BatchSummary {
  /** Data rows read (blank lines not counted). */
  readonly rows: number;
  readonly predicted: number;
  readonly rejected: number;
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
  /** Largest resident set of the process (main thread and workers) during the run. */
  readonly peakRssMiB: number;
  /**
   * Where the time went, in milliseconds: reading (the main thread waiting for input) and writing (waiting
   * for the output to take each chunk) are wall time; parse, run and format are summed over the workers.
   */
  readonly stages: BatchStages;
  /** Where predictions and rejects were written (rejects only when there were any). */
  readonly output: string;
  readonly rejects?: string;
}

/** Where each CSV column goes: the id, a model feature (by index), or nowhere. */
export interface CsvLayout {
  /** Columns every row must have (the header's). */
  readonly columns: number;
  /** Column of the id, or -1 when rows are numbered. */
  readonly idIndex: number;
  /** For each column, the feature it feeds, or -1. */
  readonly featureOf: readonly number[];
  /** Lines the header spans (its quoted cells may hold line breaks): rows are numbered from the line after it. */
  readonly headerLines?: number;
}

/** What a worker is started with: enough to load the model, before the input is opened. */
export interface WorkerBoot {
  readonly modelDir: string;
  /** The model's manifest as the main thread read and checked it. */
  readonly manifest: ModelManifest;
}

/** The run's settings, a worker's first message once the input's header is read. */
export interface WorkerInit {
  readonly format: BatchFormat;
  readonly outputFormat: BatchFormat;
  readonly idColumn: string;
  /** CSV only. */
  readonly layout?: CsvLayout;
  /** Parquet input only. */
  readonly parquet?: ParquetInit;
}

/**
 * One chunk of whole lines (`firstLine` is the 1-based line number of its first line in the file), or of
 * a Parquet file a row group or a slice of one (`group`; `firstLine` is then the 1-based number of its first row).
 */
export interface ChunkRequest {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly firstLine: number;
  /** Lines in `bytes` (a last one without a newline counts), when the sender counted them. */
  readonly lines?: number;
  readonly group?: Omit<RowGroupBytes, 'bytes'>;
  /** The buffer of answers to an earlier chunk, written out: the worker writes later answers into it (transferred). */
  readonly answers?: ArrayBuffer;
}

export type WorkerMessage =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly message: string }
  | {
      readonly kind: 'done';
      readonly seq: number;
      /** Formatted prediction lines (UTF-8, transferred) and reject lines, ready to write. */
      readonly output: Uint8Array;
      /** For a Parquet output, the answers as data pages instead (`output` is then empty). */
      readonly columns?: AnswerPages;
      readonly rejects: string;
      readonly rows: number;
      readonly rejected: number;
      /** Where the worker's time on this chunk went. */
      readonly stages: WorkerStages;
      /** The request's buffer (CSV and JSON Lines), transferred back for a later chunk to reuse. */
      readonly spent?: ArrayBuffer;
    };

export interface BatchStages {
  readonly readMs: number;
  readonly parseMs: number;
  readonly runMs: number;
  readonly formatMs: number;
  readonly writeMs: number;
}

/** Milliseconds a worker spent on a chunk, by stage (format includes the copy out of the worker). */
export interface WorkerStages {
  readonly parseMs: number;
  readonly runMs: number;
  readonly formatMs: number;
}

/** What every worker needs to decode the row groups: the footer, parsed once per worker. */
export interface ParquetInit {
  /** The file's last bytes, holding the footer (metadata) and the closing magic. */
  readonly footer: Uint8Array;
  readonly fileBytes: number;
  /** Columns read: the model's features, then the id column when the file has one. */
  readonly columns: readonly string[];
  readonly idColumn?: string;
}

/**
 * A unit of work of a Parquet input, as a worker gets it: rows `rowStart`… of row group `group` (a whole
 * group, or a slice of a large one), and for each column read its pages overlapping those rows.
 */
export interface RowGroupBytes {
  readonly group: number;
  /** The unit's first row, 0-based in the file. */
  readonly rowStart: number;
  readonly rows: number;
  /** Where each column's pages lie in `bytes`, one entry a column read. */
  readonly columns: readonly ColumnPages[];
  readonly bytes: Uint8Array;
}

/** One column's pages in a unit's bytes: its dictionary page if it has one, then the data pages holding the unit's rows. */
export interface ColumnPages {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
  /** Rows of its first data page sent that come before the unit's first row. */
  readonly skip: number;
}

/** Answers of one chunk as columns, for a Parquet output (encoded into `AnswerPages` on the worker). */
export interface AnswerColumns {
  readonly ids: readonly (string | number)[];
  /** Classifiers: label index and probabilities (k per row, the manifest's label order). */
  readonly label?: Uint32Array;
  readonly probabilities?: Float64Array;
  /** Regression. */
  readonly values?: Float64Array;
}

/** One chunk's answers as Parquet data pages (`parquet-answers.ts`), ready to lay into a row group. */
export interface AnswerPages {
  readonly rows: number;
  /** Each output column's pages (header and SNAPPY body each), one column after another, in the output's order. */
  readonly pages: Uint8Array;
  readonly columns: readonly {
    /** Bytes of this column's pages in `pages`. */
    readonly bytes: number;
    /** Their size uncompressed, headers included. */
    readonly uncompressed: number;
    readonly pages: number;
    /** The least and the greatest value (text in UTF-8 byte order); absent when there is none. */
    readonly min?: string | number;
    readonly max?: string | number;
  }[];
}
