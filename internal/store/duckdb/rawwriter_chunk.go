//go:build !duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// batchFunction is the table function through which chunkWriter hands a
// batch of records to DuckDB column by column (see batchSource).
const batchFunction = "nightjar_append_batch"

// chunkWriter is the rawWriter of builds without the duckdb_arrow tag:
// each write runs INSERT INTO packets SELECT * FROM
// nightjar_append_batch(), a table function that fills DuckDB's column
// vectors with typed writes (DuckDB's appender boxes each of the 22
// values of a row). It holds nothing back.
type chunkWriter struct {
	conn   *sql.Conn
	batch  *batchSource // the records being inserted
	labels *scannerLabels
}

func newRawWriter(conn *sql.Conn, labels *scannerLabels) (rawWriter, error) {
	w := &chunkWriter{conn: conn, labels: labels}
	err := duck.RegisterTableUDF(conn, batchFunction, duck.ParallelChunkTableFunction{
		BindArguments: func(map[string]any, ...any) (duck.ParallelChunkTableSource, error) {
			src := w.batch
			w.batch = nil
			if src == nil {
				return nil, errors.New("no batch to append")
			}
			return src, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", batchFunction, err)
	}
	return w, nil
}

func (w *chunkWriter) write(ctx context.Context, recs []record.Record, sensors []int32) error {
	w.batch = &batchSource{recs: recs, sensors: sensors, labels: w.labels}
	defer func() { w.batch = nil }()
	_, err := w.conn.ExecContext(ctx, `INSERT INTO packets SELECT * FROM `+batchFunction+`()`)
	return err
}

func (w *chunkWriter) flush(context.Context) error { return nil }

func (w *chunkWriter) reset() {}

// packetTypes are the DuckDB types of packetColumnNames.
var packetTypes = [len(packetColumnNames)]duck.Type{
	duck.TYPE_BIGINT, duck.TYPE_INTEGER, duck.TYPE_UTINYINT,
	duck.TYPE_UBIGINT, duck.TYPE_UBIGINT, duck.TYPE_UBIGINT, duck.TYPE_UBIGINT,
	duck.TYPE_UTINYINT, duck.TYPE_INTEGER, duck.TYPE_USMALLINT, duck.TYPE_USMALLINT,
	duck.TYPE_UTINYINT, duck.TYPE_UINTEGER, duck.TYPE_UINTEGER, duck.TYPE_USMALLINT,
	duck.TYPE_UINTEGER, duck.TYPE_UTINYINT, duck.TYPE_USMALLINT,
	duck.TYPE_UBIGINT, duck.TYPE_UTINYINT, duck.TYPE_BOOLEAN, duck.TYPE_USMALLINT,
	duck.TYPE_USMALLINT, duck.TYPE_UINTEGER, duck.TYPE_USMALLINT,
}

// batchSource is a duck.ParallelChunkTableSource over a batch of records:
// each FillChunk claims the next rows and writes every column with typed
// writes. DuckDB calls FillChunk from up to batchThreads threads, which
// then also compress and write the row groups in parallel.
type batchSource struct {
	recs    []record.Record
	sensors []int32
	labels  *scannerLabels
	next    atomic.Int64
}

// batchThreads is the number of DuckDB threads that fill and write a batch.
var batchThreads = 2

func (b *batchSource) ColumnInfos() []duck.ColumnInfo {
	cols := make([]duck.ColumnInfo, len(packetColumnNames))
	for i, name := range packetColumnNames {
		t, err := duck.NewTypeInfo(packetTypes[i])
		if err != nil {
			panic(err) // primitive types always have a TypeInfo
		}
		cols[i] = duck.ColumnInfo{Name: name, T: t}
	}
	return cols
}

func (b *batchSource) Cardinality() *duck.CardinalityInfo {
	return &duck.CardinalityInfo{Cardinality: uint(len(b.recs)), Exact: true}
}

func (b *batchSource) Init() duck.ParallelTableSourceInfo {
	return duck.ParallelTableSourceInfo{MaxThreads: batchThreads}
}

func (b *batchSource) NewLocalState() any { return nil }

func (b *batchSource) FillChunk(_ any, chunk duck.DataChunk) error {
	size := duck.GetDataChunkCapacity()
	start := min(int(b.next.Add(int64(size)))-size, len(b.recs))
	n := min(len(b.recs)-start, size)
	recs, sensors := b.recs[start:start+n], b.sensors[start:start+n]
	var errs [len(packetColumnNames)]error
	for row := range recs {
		r := &recs[row]
		srcHi, srcLo := r.Src.Halves()
		dstHi, dstLo := r.Dst.Halves()
		errs[0] = duck.SetChunkValue(chunk, 0, row, r.Time)
		errs[1] = duck.SetChunkValue(chunk, 1, row, sensors[row])
		errs[2] = duck.SetChunkValue(chunk, 2, row, ipVersion(r))
		errs[3] = duck.SetChunkValue(chunk, 3, row, srcHi)
		errs[4] = duck.SetChunkValue(chunk, 4, row, srcLo)
		errs[5] = duck.SetChunkValue(chunk, 5, row, dstHi)
		errs[6] = duck.SetChunkValue(chunk, 6, row, dstLo)
		errs[7] = duck.SetChunkValue(chunk, 7, row, r.Protocol)
		errs[8] = duck.SetChunkValue(chunk, 8, row, int32(portcount.Slot(r.Key())))
		errs[9] = duck.SetChunkValue(chunk, 9, row, r.SrcPort)
		errs[10] = duck.SetChunkValue(chunk, 10, row, r.DstPort)
		errs[11] = duck.SetChunkValue(chunk, 11, row, r.TCPFlags)
		errs[12] = duck.SetChunkValue(chunk, 12, row, r.Seq)
		errs[13] = duck.SetChunkValue(chunk, 13, row, r.Ack)
		errs[14] = duck.SetChunkValue(chunk, 14, row, r.Window)
		errs[15] = duck.SetChunkValue(chunk, 15, row, r.IPID)
		errs[16] = duck.SetChunkValue(chunk, 16, row, r.TTL)
		errs[17] = duck.SetChunkValue(chunk, 17, row, r.IPLen)
		errs[18] = duck.SetChunkValue(chunk, 18, row, r.Options.Layout)
		errs[19] = duck.SetChunkValue(chunk, 19, row, optLen(&r.Options))
		errs[20] = duck.SetChunkValue(chunk, 20, row, r.Fragment)
		errs[21] = duck.SetChunkValue(chunk, 21, row, uint16(r.Tags))
		errs[22] = duck.SetChunkValue(chunk, 22, row, countryColumn(r))
		errs[23] = duck.SetChunkValue(chunk, 23, row, r.Origin.ASN)
		errs[24] = duck.SetChunkValue(chunk, 24, row, scannerColumn(r, b.labels))
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("append record: %w", err)
			}
		}
	}
	return chunk.SetSize(n)
}
