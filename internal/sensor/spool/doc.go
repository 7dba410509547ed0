// Package spool owns the sensor's on-disk batch spool: every batch the
// batcher closes is written here before it is sent, and deleted only after
// the collector has acknowledged it.
//
// # Files
//
// One batch is one file in the spool directory, holding the batch's
// protobuf serialisation (proto.Marshal of a sensorv1.Batch) and nothing
// else. Its name carries what is needed to order and account for it
// without reading it:
//
//	<created_ns, 20 digits>-<epoch, 16 hex digits>-<seq, 20 digits>-<count>.batch
//
// Batches are sent oldest first: by creation time, then epoch, then seq.
// A batch is written to a temporary file ("put-*.tmp") in the same
// directory and renamed to its name, so a batch file is always complete:
// a reader never sees a torn batch under its final name. Open removes the
// temporary files a previous run left (counted in Stats.LeftoverFiles and
// logged) and leaves files it does not recognise alone. A lock file
// (".lock", flock) keeps a second process from using the same directory.
//
// # Durability (SyncPolicy)
//
// SyncAlways (the default) fsyncs the temporary file before the rename and
// the directory after it: when Put returns, and so before the sender can
// send the batch, the batch is on stable storage and survives a power loss
// or kernel crash. It costs two fsyncs per batch (milliseconds on flash
// storage; see BenchmarkPut), which at one batch per few thousand records
// is a small price.
//
// SyncNever leaves write-back to the operating system. A batch survives a
// crash of the sensor process (it is in the page cache once Put returns),
// but a power loss or kernel crash can lose the batches written in the
// last write-back interval (about 30 s with Linux defaults), and, on some
// file systems, leave an empty or partial batch file under its final name;
// such a file fails Read with ErrCorrupt and the sender discards it.
//
// Under either policy, a SIGKILL of the sensor process loses at most the
// records not yet closed into a batch — bounded by the batcher's batch size
// and latency — plus the batch whose Put was in progress: a Put that
// returned has its file, and a Put that did not return leaves at most a
// temporary file, which the next Open removes.
//
// Removals (after an ack, or when dropping) are not fsynced: after a power
// loss a removed batch may reappear and be sent again; the collector
// de-duplicates it by (sensor, epoch, seq).
//
// # Size limit
//
// Options.MaxBytes bounds the bytes of the batch files (their contents; the
// file system's own overhead is not counted). When a Put would exceed it,
// the oldest batches are dropped, before the new batch is written, until it
// fits; dropped batches and their records are counted in Stats. A batch
// larger than MaxBytes on its own is refused with ErrTooLarge. Open applies
// the limit to what a previous run left, in case it was lowered.
//
// A batch being sent may be dropped: the sender's Read then returns
// ErrGone, or, if it was already sent, the later Remove for its ack finds
// nothing and returns nil. Keeping in-flight batches would let a stalled
// collector pin the spool above its limit; sending a dropped batch once
// more is harmless.
//
// # Concurrency
//
// A Spool is safe for concurrent use: the batcher Puts while the sender
// reads Pending, Reads and Removes. Notify signals the sender when a batch
// was put, so that it does not poll.
package spool
