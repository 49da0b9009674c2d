/** The log item's encoding: attribute names, numbers, and what the API sees. */
import {
  decodeRecord,
  encodeRecord,
  float32Decimal,
  fromAttributeValue,
  LOG_TABLE,
  numberText,
  type PredictionRecord,
  shadowLogModel,
  shadowRecordsOf,
  toAttributeValue,
  UnstorableValueError,
  withoutShadow,
} from '../../contract/prediction-log';

/** DynamoDB's reserved words (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html). */
const RESERVED = new Set(
  `ABORT ABSOLUTE ACTION ADD AFTER AGENT AGGREGATE ALL ALLOCATE ALTER ANALYZE AND ANY ARCHIVE ARE ARRAY AS ASC ASCII ASENSITIVE ASSERTION ASYMMETRIC AT ATOMIC ATTACH
  ATTRIBUTE AUTH AUTHORIZATION AUTHORIZE AUTO AVG BACK BACKUP BASE BATCH BEFORE BEGIN BETWEEN BIGINT BINARY BIT BLOB BLOCK BOOLEAN BOTH BREADTH BUCKET BULK BY BYTE
  CALL CALLED CALLING CAPACITY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER CHECK CLASS CLOB CLOSE CLUSTER CLUSTERED CLUSTERING CLUSTERS COALESCE COLLATE
  COLLATION COLLECTION COLUMN COLUMNS COMBINE COMMENT COMMIT COMPACT COMPILE COMPRESS CONDITION CONFLICT CONNECT CONNECTION CONSISTENCY CONSISTENT CONSTRAINT
  CONSTRAINTS CONSTRUCTOR CONSUMED CONTINUE CONVERT COPY CORRESPONDING COUNT COUNTER CREATE CROSS CUBE CURRENT CURSOR CYCLE DATA DATABASE DATE DATETIME DAY
  DEALLOCATE DEC DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DEFINE DEFINED DEFINITION DELETE DELIMITED DEPTH DEREF DESC DESCRIBE DESCRIPTOR DETACH DETERMINISTIC
  DIAGNOSTICS DIRECTORIES DISABLE DISCONNECT DISTINCT DISTRIBUTE DO DOMAIN DOUBLE DROP DUMP DURATION DYNAMIC EACH ELEMENT ELSE ELSEIF EMPTY ENABLE END EQUAL EQUALS
  ERROR ESCAPE ESCAPED EVAL EVALUATE EXCEEDED EXCEPT EXCEPTION EXCEPTIONS EXCLUSIVE EXEC EXECUTE EXISTS EXIT EXPLAIN EXPLODE EXPORT EXPRESSION EXTENDED EXTERNAL
  EXTRACT FAIL FALSE FAMILY FETCH FIELDS FILE FILTER FILTERING FINAL FINISH FIRST FIXED FLATTERN FLOAT FOR FORCE FOREIGN FORMAT FORWARD FOUND FREE FROM FULL
  FUNCTION FUNCTIONS GENERAL GENERATE GET GLOB GLOBAL GO GOTO GRANT GREATER GROUP GROUPING HANDLER HASH HAVE HAVING HEAP HIDDEN HOLD HOUR IDENTIFIED IDENTITY IF
  IGNORE IMMEDIATE IMPORT IN INCLUDING INCLUSIVE INCREMENT INCREMENTAL INDEX INDEXED INDEXES INDICATOR INFINITE INITIALLY INLINE INNER INNTER INOUT INPUT INSENSITIVE
  INSERT INSTEAD INT INTEGER INTERSECT INTERVAL INTO INVALIDATE IS ISOLATION ITEM ITEMS ITERATE JOIN KEY KEYS LAG LANGUAGE LARGE LAST LATERAL LEAD LEADING LEAVE
  LEFT LENGTH LESS LEVEL LIKE LIMIT LIMITED LINES LIST LOAD LOCAL LOCALTIME LOCALTIMESTAMP LOCATION LOCATOR LOCK LOCKS LOG LOGED LONG LOOP LOWER MAP MATCH
  MATERIALIZED MAX MAXLEN MEMBER MERGE METHOD METRICS MIN MINUS MINUTE MISSING MOD MODE MODIFIES MODIFY MODULE MONTH MULTI MULTISET NAME NAMES NATIONAL NATURAL
  NCHAR NCLOB NEW NEXT NO NONE NOT NULL NULLIF NUMBER NUMERIC OBJECT OF OFFLINE OFFSET OLD ON ONLINE ONLY OPAQUE OPEN OPERATOR OPTION OR ORDER ORDINALITY OTHER
  OTHERS OUT OUTER OUTPUT OVER OVERLAPS OVERRIDE OWNER PAD PARALLEL PARAMETER PARAMETERS PARTIAL PARTITION PARTITIONED PARTITIONS PATH PERCENT PERCENTILE
  PERMISSION PERMISSIONS PIPE PIPELINED PLAN POOL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVATE PRIVILEGES PROCEDURE PROCESSED PROJECT PROJECTION
  PROPERTY PROVISIONING PUBLIC PUT QUERY QUIT QUORUM RAISE RANDOM RANGE RANK RAW READ READS REAL REBUILD RECORD RECURSIVE REDUCE REF REFERENCE REFERENCES
  REFERENCING REGEXP REGION REINDEX RELATIVE RELEASE REMAINDER RENAME REPEAT REPLACE REQUEST RESET RESIGNAL RESOURCE RESPONSE RESTORE RESTRICT RESULT RETURN
  RETURNING RETURNS REVERSE REVOKE RIGHT ROLE ROLES ROLLBACK ROLLUP ROUTINE ROW ROWS RULE RULES SAMPLE SATISFIES SAVE SAVEPOINT SCAN SCHEMA SCOPE SCROLL SEARCH
  SECOND SECTION SEGMENT SEGMENTS SELECT SELF SEMI SENSITIVE SEPARATE SEQUENCE SERIALIZABLE SESSION SET SETS SHARD SHARE SHARED SHORT SHOW SIGNAL SIMILAR SIZE
  SKEWED SMALLINT SNAPSHOT SOME SOURCE SPACE SPACES SPARSE SPECIFIC SPECIFICTYPE SPLIT SQL SQLCODE SQLERROR SQLEXCEPTION SQLSTATE SQLWARNING START STATE STATIC
  STATUS STORAGE STORE STORED STREAM STRING STRUCT STYLE SUB SUBMULTISET SUBPARTITION SUBSTRING SUBTYPE SUM SUPER SYMMETRIC SYNONYM SYSTEM TABLE TABLESAMPLE TEMP
  TEMPORARY TERMINATED TEXT THAN THEN THROUGHPUT TIME TIMESTAMP TIMEZONE TINYINT TO TOKEN TOTAL TOUCH TRAILING TRANSACTION TRANSFORM TRANSLATE TRANSLATION TREAT
  TRIGGER TRIM TRUE TRUNCATE TTL UNBOUNDED UNDER UNDO UNION UNIQUE UNIT UNKNOWN UNLOGGED UNNEST UNPROCESSED UNSIGNED UNTIL UPDATE UPPER URL USAGE USE USER USERS
  USING UUID VACUUM VALUE VALUED VALUES VARCHAR VARIABLE VARIANCE VARINT VARYING VIEW VIEWS VIRTUAL VOID WAIT WHEN WHENEVER WHERE WHILE WINDOW WITH WITHIN WITHOUT
  WORK WRAPPED WRITE YEAR ZONE`.split(/\s+/),
);

/** A record with every attribute the log can hold set. */
function fullRecord(): PredictionRecord {
  return {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
    model: 'breast-cancer',
    modelVersion: '1.0.0',
    createdAt: '2026-11-30T10:00:00.000Z',
    inputValues: [Math.fround(1e16), 0, Math.fround(3.4e38), Math.fround(1e-40)],
    inputImage: 'iVBORw0KGgo=',
    inputKey: 'datasets/x.json',
    label: 'benign',
    probabilities: { benign: 0.75, malignant: 0.25 },
    predictedValue: 1.5,
    latencyMs: 3,
    requestId: 'req-1',
    apiKeyId: 'key-1',
    feedback: { label: 'benign', givenAt: '2026-11-30T10:01:00.000Z', apiKeyId: 'key-1' },
    feedbackHistory: [{ label: 'malignant', givenAt: '2026-11-30T10:00:30.000Z', apiKeyId: 'key-1' }],
    expiresAt: 1_900_000_000,
    shadowOf: '01JABCDEFGHJKMNPQRSTVWXYZ1',
    shadowError: 'BACKEND_TIMEOUT',
    shadow: {
      id: '01JABCDEFGHJKMNPQRSTVWXYZ2',
      modelVersion: '2.0.0',
      createdAt: '2026-11-30T10:00:00.001Z',
      label: 'malignant',
      probabilities: { benign: 0.25, malignant: 0.75 },
      predictedValue: 2.5,
      errorCode: 'SHADOW_TIMEOUT',
      latencyMs: 4,
    },
  };
}

/** Every attribute name of an item, nested map keys too (label names of `probabilities` are the model's, not ours). */
function names(item: Record<string, { M?: Record<string, unknown>; L?: unknown[] }>, out: string[] = []): string[] {
  for (const [k, v] of Object.entries(item)) {
    out.push(k);
    if (k === 'probabilities') continue;
    if (v.M) names(v.M as Record<string, { M?: Record<string, unknown> }>, out);
    for (const e of v.L ?? []) if ((e as { M?: unknown }).M) names((e as { M: Record<string, { M?: Record<string, unknown> }> }).M, out);
  }
  return out;
}

describe('float32 values in the log', () => {
  it('writes the shortest decimal that reads back as the same float32', () => {
    expect([28.77, 0.0926, 1e16, 3.4e38, 1e-40, -0, 1e-46, 0.1].map(float32Decimal)).toEqual([
      28.77, 0.0926, 1e16, 3.4e38, 1e-40, 0, 0, 0.1,
    ]);
    // Random float32 bit patterns: always recovered exactly, never more than 9 significant digits.
    const bits = new Uint32Array(20_000).map((_v, i) => (Math.imul(i + 1, 2654435761) >>> 0) & 0x7f7fffff);
    for (const f of new Float32Array(bits.buffer)) {
      const d = float32Decimal(f);
      expect(Math.fround(d)).toBe(f);
      expect(d.toPrecision(9).replace(/e.*$/, '').replace(/0+$/, '').replace('.', '').replace(/^-?0*/, '').length).toBeLessThanOrEqual(9);
    }
  });

  it('writes no more digits than needed, at the ends of binades and decades too', () => {
    // The definition: the first precision whose decimal reads back as the float32.
    const shortest = (f: number) => {
      for (let p = 1; p < 9; p++) if (Math.fround(Number(f.toPrecision(p))) === f) return Number(f.toPrecision(p));
      return Number(f.toPrecision(9));
    };
    const bits = new Uint32Array(1);
    const float = new Float32Array(bits.buffer);
    const near = (x: number) =>
      Array.from({ length: 41 }, (_v, i) => {
        float[0] = x;
        bits[0] = (bits[0] ?? 0) + i - 20;
        return float[0] ?? 0;
      });
    const values = [
      ...Array.from({ length: 80 }, (_v, k) => near(Math.fround(10 ** (k - 40)))).flat(),
      ...Array.from({ length: 250 }, (_v, k) => near(2 ** (k - 124))).flat(),
      ...Array.from({ length: 5000 }, (_v, i) => Number(((i * 7919) % 100_003).toPrecision(1 + (i % 9))) / 10 ** (i % 13)),
    ].filter((f) => Number.isFinite(f) && f > 0);
    for (const f of values) {
      const f32 = Math.fround(f);
      expect([f32, float32Decimal(f32)]).toEqual([f32, shortest(f32)]);
    }
  });
});

describe('prediction log item', () => {
  it('uses no DynamoDB reserved word as an attribute name, nested ones included', () => {
    const used = names(encodeRecord(fullRecord()) as never);
    expect(used).toEqual(
      expect.arrayContaining([
        'createdAt',
        'createdAtId',
        'callerModel',
        'inputValues',
        'givenAt',
        'feedbackHistory',
        'shadow',
        'errorCode',
      ]),
    );
    expect(used.filter((n) => RESERVED.has(n.toUpperCase()))).toEqual([]);
    for (const ix of [LOG_TABLE.byModelIndex, LOG_TABLE.byCallerIndex])
      for (const n of [ix.partitionKey, ix.sortKey]) expect(RESERVED.has(n.toUpperCase())).toBe(false);
  });

  it('round-trips every number exactly, beyond 2^53 too, and drops the index-only attributes', () => {
    const r = fullRecord();
    const item = encodeRecord(r);
    expect(item.inputValues.L?.[0]).toEqual({ N: '10000000272564224' });
    expect(item.createdAtId).toEqual({ S: `${r.createdAt}#${r.id}` });
    expect(item.callerModel).toEqual({ S: 'key-1#breast-cancer' });
    expect(decodeRecord(item)).toEqual(r);
    for (const v of [Number.MAX_SAFE_INTEGER + 2, -1e125, 1e-129, 0.1 + 0.2, Math.fround(1.1), 5e-324 * 1e200]) {
      expect(fromAttributeValue(toAttributeValue(v, 'v'))).toBe(v);
    }
  });

  it("refuses, as a permanent error, numbers outside DynamoDB's range (never a silent 0 or Infinity)", () => {
    for (const v of [1e-131, -1e-300, 1e126, Infinity, NaN]) expect(() => numberText(v, 'x')).toThrow(UnstorableValueError);
    expect(() => encodeRecord({ ...fullRecord(), probabilities: { benign: 1e200 } })).toThrow(
      /record\.probabilities\.benign = 1e\+200 is outside DynamoDB's number range/,
    );
    expect(numberText(-0, 'x')).toBe('0');
  });
});

describe('shadow predictions inside answered items', () => {
  const answered: PredictionRecord = {
    id: 'a1',
    model: 'breast-cancer',
    modelVersion: '1.0.0',
    createdAt: '2026-11-30T10:00:00.000Z',
    inputValues: [1, 2],
    label: 'benign',
    probabilities: { benign: 0.75, malignant: 0.25 },
    latencyMs: 3,
    requestId: 'req-1',
    apiKeyId: 'key-1',
    expiresAt: 1_900_000_000,
    feedback: { label: 'benign', givenAt: '2026-11-30T10:01:00.000Z' },
  };

  it('reads each back as the record an earlier release stored apart: its own id and answer, the request, caller and expiry of the answered one', () => {
    const made = {
      ...answered,
      shadow: {
        id: 's1',
        modelVersion: '2.0.0',
        createdAt: '2026-11-30T10:00:00.001Z',
        label: 'malignant',
        probabilities: { benign: 0.4, malignant: 0.6 },
        latencyMs: 5,
      },
    };
    const failed = {
      ...answered,
      id: 'a2',
      shadow: { id: 's2', modelVersion: '2.0.0', createdAt: '2026-11-30T10:00:00.201Z', errorCode: 'SHADOW_TIMEOUT', latencyMs: 204 },
    };
    const value = {
      ...answered,
      id: 'a3',
      label: undefined,
      probabilities: undefined,
      predictedValue: 1.5,
      apiKeyId: undefined,
      expiresAt: undefined,
      shadow: { id: 's3', modelVersion: '2.0.0', createdAt: '2026-11-30T10:00:00.001Z', predictedValue: 1.25, latencyMs: 4 },
    };
    // Through the log and back, as every reader gets them
    const read = [made, answered, failed, value].map((r) => decodeRecord(encodeRecord(r)));
    expect(shadowRecordsOf(read)).toEqual([
      {
        id: 's1',
        model: shadowLogModel('breast-cancer'),
        modelVersion: '2.0.0',
        createdAt: '2026-11-30T10:00:00.001Z',
        label: 'malignant',
        probabilities: { benign: 0.4, malignant: 0.6 },
        latencyMs: 5,
        requestId: 'req-1',
        apiKeyId: 'key-1',
        expiresAt: 1_900_000_000,
        shadowOf: 'a1',
      },
      {
        id: 's2',
        model: 'breast-cancer#shadow',
        modelVersion: '2.0.0',
        createdAt: '2026-11-30T10:00:00.201Z',
        shadowError: 'SHADOW_TIMEOUT',
        latencyMs: 204,
        requestId: 'req-1',
        apiKeyId: 'key-1',
        expiresAt: 1_900_000_000,
        shadowOf: 'a2',
      },
      {
        id: 's3',
        model: 'breast-cancer#shadow',
        modelVersion: '2.0.0',
        createdAt: '2026-11-30T10:00:00.001Z',
        predictedValue: 1.25,
        latencyMs: 4,
        requestId: 'req-1',
        shadowOf: 'a3',
      },
    ]);
  });

  it("leaves a client key's view without the other version's prediction, and changes nothing else", () => {
    const shadowed = {
      ...answered,
      shadow: { id: 's1', modelVersion: '2.0.0', createdAt: answered.createdAt, label: 'malignant', latencyMs: 5 },
    };
    expect(withoutShadow(shadowed)).toEqual(answered);
    expect(withoutShadow(answered)).toBe(answered);
  });
});
