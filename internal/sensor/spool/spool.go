package spool

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/nightjar-telescope/nightjar/internal/filelock"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// DefaultMaxBytes is the size limit when Options.MaxBytes is zero.
const DefaultMaxBytes = 1 << 30

// SyncPolicy says when Put waits for stable storage (see the package doc).
type SyncPolicy int

const (
	// SyncAlways fsyncs each batch file before its rename and the directory
	// after it: a batch survives a power loss once Put returns.
	SyncAlways SyncPolicy = iota
	// SyncNever leaves write-back to the operating system: a batch survives
	// a crash of the process, not of the machine.
	SyncNever
)

// String returns the policy's configuration name.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Options configures a Spool.
type Options struct {
	// MaxBytes bounds the bytes of all batch files; 0 means
	// DefaultMaxBytes. When a Put would exceed it, the oldest batches are
	// dropped.
	MaxBytes int64
	// Sync is the durability policy; the zero value is SyncAlways.
	Sync SyncPolicy
	// Logger receives what Open finds (leftover temporary files, unknown
	// files, batches dropped to fit the limit); nil discards it.
	Logger *slog.Logger
}

// Entry names one spooled batch. Its fields come from the file name.
type Entry struct {
	CreatedNs int64  // when the batch was closed, Unix ns
	Epoch     uint64 // the sensor process's epoch
	Seq       uint64 // the batch's sequence number within its epoch
	Count     uint32 // records in the batch
	Size      int64  // bytes of the batch file
}

// Stats describes the spool. Batches, Bytes and OldestNs are its current
// content; the other counts are cumulative since Open.
type Stats struct {
	Batches        int    // batches spooled
	Bytes          int64  // bytes of their files (and of a batch being put)
	OldestNs       int64  // creation time of the oldest batch, Unix ns; 0 when empty
	DroppedBatches uint64 // batches dropped to stay within MaxBytes
	DroppedRecords uint64 // records of those batches
	CorruptBatches uint64 // batches removed by Discard
	CorruptRecords uint64 // records of those batches (as their names say)
	LeftoverFiles  int    // temporary files of a previous run removed by Open
}

var (
	// ErrTooLarge: a batch is larger than Options.MaxBytes on its own.
	ErrTooLarge = errors.New("batch larger than the spool's size limit")
	// ErrExists: a batch with the same epoch and seq is already spooled.
	ErrExists = errors.New("batch already spooled")
	// ErrGone: the batch is no longer spooled (acknowledged, dropped or
	// discarded meanwhile).
	ErrGone = errors.New("batch no longer spooled")
	// ErrCorrupt: a batch file does not parse, or does not match its name.
	ErrCorrupt = errors.New("corrupt spooled batch")
	// ErrLocked: another process has the spool directory open.
	ErrLocked = errors.New("spool directory in use by another process")
	// ErrClosed: the Spool was closed.
	ErrClosed = errors.New("spool closed")
)

const (
	batchSuffix = ".batch"
	tmpPattern  = "put-*.tmp"
	tmpSuffix   = ".tmp"
	lockName    = ".lock"
	// compactAt: dropped entries at the front of the index are compacted
	// away once there are this many and they are half of it.
	compactAt = 1024
)

type key struct{ epoch, seq uint64 }

// Spool is an on-disk queue of batches. It is safe for concurrent use.
type Spool struct {
	dir    string
	max    int64
	sync   SyncPolicy
	log    *slog.Logger
	lock   *os.File // holds the directory's flock
	dirf   *os.File // the directory, for fsync
	notify chan struct{}

	putMu sync.Mutex // serialises Put; guards buf
	buf   []byte     // serialisation buffer, reused

	mu      sync.Mutex // guards below
	closed  bool
	entries []Entry // entries[head:] are the batches, oldest first
	head    int
	index   map[key]Entry
	bytes   int64
	stats   Stats // cumulative counts
}

// Open opens the spool in dir, creating the directory (mode 0700) if
// needed. The batches a previous run left are pending again, oldest first;
// its temporary files are removed.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("open spool %q: negative size limit %d", dir, opts.MaxBytes)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Sync != SyncAlways && opts.Sync != SyncNever {
		return nil, fmt.Errorf("open spool %q: unknown sync policy %v", dir, opts.Sync)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	lock, err := filelock.TryLock(filepath.Join(dir, lockName), 0o600)
	if errors.Is(err, filelock.ErrLocked) {
		err = ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("open spool %q: %w", dir, err)
	}
	dirf, err := os.Open(dir)
	if err != nil {
		filelock.Unlock(lock)
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &Spool{
		dir: dir, max: opts.MaxBytes, sync: opts.Sync, log: opts.Logger,
		lock: lock, dirf: dirf, notify: make(chan struct{}, 1),
		index: map[key]Entry{},
	}
	if err := s.load(); err != nil {
		s.Close()
		return nil, fmt.Errorf("open spool %q: %w", dir, err)
	}
	if len(s.entries) > 0 {
		s.notify <- struct{}{}
	}
	return s, nil
}

// load reads the directory: batches into the index, temporary files
// removed, then the size limit applied.
func (s *Spool) load() error {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var unknown []string
	for _, de := range des {
		name := de.Name()
		switch {
		case name == lockName:
		case strings.HasSuffix(name, tmpSuffix) && de.Type().IsRegular():
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove leftover temporary file: %w", err)
			}
			s.stats.LeftoverFiles++
		default:
			e, ok := parseName(name)
			if !ok || !de.Type().IsRegular() {
				unknown = append(unknown, name)
				continue
			}
			info, err := de.Info()
			if err != nil {
				return err
			}
			e.Size = info.Size()
			s.index[e.key()] = e
			s.entries = append(s.entries, e)
			s.bytes += e.Size
		}
	}
	slices.SortFunc(s.entries, compareEntries)
	if s.stats.LeftoverFiles > 0 {
		s.log.Info("removed leftover temporary files", "dir", s.dir, "count", s.stats.LeftoverFiles)
	}
	if len(unknown) > 0 {
		s.log.Warn("ignoring unknown files in spool directory", "dir", s.dir, "count", len(unknown), "first", unknown[0])
	}
	before := s.stats.DroppedBatches
	if err := s.dropUntil(0); err != nil {
		return err
	}
	if n := s.stats.DroppedBatches - before; n > 0 {
		s.log.Warn("dropped oldest batches to fit the size limit", "dir", s.dir, "batches", n,
			"records", s.stats.DroppedRecords, "max_bytes", s.max)
	}
	s.log.Debug("spool opened", "dir", s.dir, "batches", len(s.entries), "bytes", s.bytes, "sync", s.sync.String())
	return nil
}

// Close releases the directory. A Put in progress completes first; later
// calls return ErrClosed.
func (s *Spool) Close() error {
	s.putMu.Lock()
	defer s.putMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return errors.Join(s.dirf.Close(), filelock.Unlock(s.lock))
}

// Put writes b to the spool, dropping the oldest batches first if it
// would not fit. With SyncAlways, b is on stable storage when Put returns
// nil. b must not be modified during the call.
func (s *Spool) Put(b *sensorv1.Batch) error {
	if b == nil {
		return errors.New("spool put: nil batch")
	}
	if b.GetCreatedNs() < 0 {
		return fmt.Errorf("spool put: batch (%#x, %d) created at negative time %d", b.GetEpoch(), b.GetSeq(), b.GetCreatedNs())
	}
	s.putMu.Lock()
	defer s.putMu.Unlock()
	data, err := proto.MarshalOptions{}.MarshalAppend(s.buf[:0], b)
	if err != nil {
		return fmt.Errorf("spool put: %w", err)
	}
	s.buf = data
	e := Entry{CreatedNs: b.GetCreatedNs(), Epoch: b.GetEpoch(), Seq: b.GetSeq(), Count: b.GetCount(), Size: int64(len(data))}
	if e.Size > s.max {
		return fmt.Errorf("spool put: batch (%#x, %d) of %d bytes: %w (%d bytes)", e.Epoch, e.Seq, e.Size, ErrTooLarge, s.max)
	}
	if err := s.reserve(e); err != nil {
		return fmt.Errorf("spool put: batch (%#x, %d): %w", e.Epoch, e.Seq, err)
	}
	err = s.write(e.name(), data)
	s.mu.Lock()
	s.bytes -= e.Size // the reservation
	if err == nil {
		s.insert(e)
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("spool put: batch (%#x, %d): %w", e.Epoch, e.Seq, err)
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// reserve makes room for e, dropping the oldest batches, and counts its
// size in s.bytes until Put inserts it or gives up.
func (s *Spool) reserve(e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.index[e.key()]; ok {
		return ErrExists
	}
	if err := s.dropUntil(e.Size); err != nil {
		return err
	}
	s.bytes += e.Size
	return nil
}

// dropUntil drops the oldest batches until extra more bytes fit. s.mu is
// held (or s is not shared yet).
func (s *Spool) dropUntil(extra int64) error {
	for s.bytes+extra > s.max && s.head < len(s.entries) {
		e := s.entries[s.head]
		if err := s.removeFile(e); err != nil {
			return fmt.Errorf("drop oldest batch: %w", err)
		}
		s.stats.DroppedBatches++
		s.stats.DroppedRecords += uint64(e.Count)
		s.forget(s.head)
	}
	return nil
}

// write stores data as the file name: a temporary file, fsynced under
// SyncAlways, renamed, then the directory fsynced under SyncAlways.
func (s *Spool) write(name string, data []byte) error {
	f, err := os.CreateTemp(s.dir, tmpPattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && s.sync == SyncAlways {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if s.sync == SyncAlways {
		if err := s.dirf.Sync(); err != nil {
			// The batch is not known to be durable: take it back.
			os.Remove(filepath.Join(s.dir, name))
			return fmt.Errorf("sync spool directory: %w", err)
		}
	}
	return nil
}

// Pending returns the spooled batches, oldest first.
func (s *Spool) Pending() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries[s.head:])
}

// Oldest returns up to n of the oldest batches for which skip returns
// false, oldest first. The sender asks it for the next batches to send,
// skipping those in flight: it reads only as far as it must, however long
// the spool has grown while the collector was away.
func (s *Spool) Oldest(n int, skip func(Entry) bool) []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entry
	for _, e := range s.entries[s.head:] {
		if len(out) >= n {
			break
		}
		if !skip(e) {
			out = append(out, e)
		}
	}
	return out
}

// Read reads the batch of e. It returns an error wrapping ErrGone when the
// batch is no longer spooled, and ErrCorrupt when its file does not parse
// or does not match its name: the sender should then Discard it.
func (s *Spool) Read(e Entry) (*sensorv1.Batch, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	data, err := os.ReadFile(filepath.Join(s.dir, e.name()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read spooled batch (%#x, %d): %w", e.Epoch, e.Seq, ErrGone)
	}
	if err != nil {
		return nil, fmt.Errorf("read spooled batch: %w", err)
	}
	b := &sensorv1.Batch{}
	if err := proto.Unmarshal(data, b); err != nil {
		return nil, fmt.Errorf("read spooled batch %s: %w: %v", e.name(), ErrCorrupt, err)
	}
	if b.GetCreatedNs() != e.CreatedNs || b.GetEpoch() != e.Epoch || b.GetSeq() != e.Seq || b.GetCount() != e.Count {
		return nil, fmt.Errorf("read spooled batch %s: %w: it holds batch (%#x, %d) of %d records created at %d",
			e.name(), ErrCorrupt, b.GetEpoch(), b.GetSeq(), b.GetCount(), b.GetCreatedNs())
	}
	return b, nil
}

// Remove deletes the batch (epoch, seq) after its ack. A batch that is no
// longer spooled (dropped, discarded or removed before) is not an error.
func (s *Spool) Remove(epoch, seq uint64) error {
	_, err := s.delete(key{epoch, seq})
	if err != nil {
		return fmt.Errorf("remove spooled batch (%#x, %d): %w", epoch, seq, err)
	}
	return nil
}

// Discard deletes the batch of e, which Read found corrupt, and counts it
// in Stats.CorruptBatches. A batch no longer spooled is not an error.
func (s *Spool) Discard(e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ent, err := s.deleteLocked(e.key())
	if err != nil {
		return fmt.Errorf("discard spooled batch (%#x, %d): %w", e.Epoch, e.Seq, err)
	}
	if ent != nil {
		s.stats.CorruptBatches++
		s.stats.CorruptRecords += uint64(ent.Count)
	}
	return nil
}

func (s *Spool) delete(k key) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteLocked(k)
}

// deleteLocked removes the file and index entry of k and returns the
// entry, or nil if k is not spooled.
func (s *Spool) deleteLocked(k key) (*Entry, error) {
	if s.closed {
		return nil, ErrClosed
	}
	e, ok := s.index[k]
	if !ok {
		return nil, nil
	}
	if err := s.removeFile(e); err != nil {
		return nil, err
	}
	i, found := s.find(e)
	if !found {
		return nil, fmt.Errorf("batch %s is in the index but not in the queue", e.name())
	}
	s.forget(i)
	return &e, nil
}

// Notify returns a channel that receives a value after a Put (signals
// coalesce: one value may stand for several Puts), and at Open when
// batches were left. It is meant for one receiver, the sender, which then
// calls Pending.
func (s *Spool) Notify() <-chan struct{} { return s.notify }

// Stats returns the spool's current figures.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Batches = len(s.entries) - s.head
	st.Bytes = s.bytes
	if st.Batches > 0 {
		st.OldestNs = s.entries[s.head].CreatedNs
	}
	return st
}

// Dir returns the spool directory.
func (s *Spool) Dir() string { return s.dir }

func (s *Spool) removeFile(e Entry) error {
	err := os.Remove(filepath.Join(s.dir, e.name()))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// insert adds e to the index; s.mu is held.
func (s *Spool) insert(e Entry) {
	s.index[e.key()] = e
	s.bytes += e.Size
	n := len(s.entries)
	if n == s.head || compareEntries(s.entries[n-1], e) < 0 {
		s.entries = append(s.entries, e) // the usual case: newest last
		return
	}
	i, _ := s.find(e)
	s.entries = slices.Insert(s.entries, i, e)
}

// find returns where e is, or would be, in s.entries[s.head:].
func (s *Spool) find(e Entry) (int, bool) {
	i, found := slices.BinarySearchFunc(s.entries[s.head:], e, compareEntries)
	return s.head + i, found
}

// forget removes entry i from the index; s.mu is held.
func (s *Spool) forget(i int) {
	e := s.entries[i]
	delete(s.index, e.key())
	s.bytes -= e.Size
	if i > s.head {
		s.entries = slices.Delete(s.entries, i, i+1)
		return
	}
	s.entries[i] = Entry{}
	s.head++
	if s.head == len(s.entries) {
		s.entries, s.head = s.entries[:0], 0
	} else if s.head >= compactAt && s.head*2 >= len(s.entries) {
		s.entries = slices.Delete(s.entries, 0, s.head)
		s.head = 0
	}
}

// compareEntries orders batches for sending: creation time, epoch, seq.
func compareEntries(a, b Entry) int {
	if c := cmp.Compare(a.CreatedNs, b.CreatedNs); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Epoch, b.Epoch); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

func (e Entry) key() key { return key{e.Epoch, e.Seq} }
