// Package faultfs mounts a real file system that misbehaves on demand, for
// fault tests: a FUSE loopback of a directory whose writes and fsyncs stall.
package faultfs

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Disk is a mounted loopback of a backing directory. While stalled, every
// write and fsync under it waits in the kernel, as on a dying disk or a
// saturated network volume: the caller's syscall blocks, nothing fails.
type Disk struct {
	Dir string // where it is mounted
	srv *fuse.Server

	mu      sync.Mutex
	until   time.Time     // stalled until then
	longest time.Duration // the longest a call was held
}

// Mount mounts a loopback of backing at dir (both existing directories).
// It needs root and /dev/fuse; the error says when they are missing.
func Mount(dir, backing string) (*Disk, error) {
	root, err := fs.NewLoopbackRoot(backing)
	if err != nil {
		return nil, err
	}
	d := &Disk{Dir: dir}
	top := &node{LoopbackNode: root.(*fs.LoopbackNode), disk: d}
	srv, err := fs.Mount(dir, top, &fs.Options{MountOptions: fuse.MountOptions{
		DirectMountStrict: true, FsName: "faultfs", Name: "faultfs"}})
	if err != nil {
		return nil, fmt.Errorf("mount FUSE at %s: %w", dir, err)
	}
	d.srv = srv
	return d, nil
}

// Unmount ends any stall and unmounts.
func (d *Disk) Unmount() error {
	d.Stall(0)
	return d.srv.Unmount()
}

// Stall makes every write and fsync from now on wait until dur from now.
func (d *Disk) Stall(dur time.Duration) {
	d.mu.Lock()
	d.until = time.Now().Add(dur)
	d.mu.Unlock()
}

// Held is the longest a write or fsync was made to wait.
func (d *Disk) Held() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.longest
}

func (d *Disk) wait() {
	d.mu.Lock()
	wait := time.Until(d.until)
	d.mu.Unlock()
	if wait <= 0 {
		return
	}
	time.Sleep(wait)
	d.mu.Lock()
	d.longest = max(d.longest, wait)
	d.mu.Unlock()
}

// node is a loopback file or directory whose writes and fsyncs go through
// the disk's stall; the nodes it makes are wrapped alike.
type node struct {
	*fs.LoopbackNode
	disk *Disk
}

var (
	_ fs.NodeWriter      = (*node)(nil)
	_ fs.NodeFsyncer     = (*node)(nil)
	_ fs.NodeWrapChilder = (*node)(nil)
)

func (n *node) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), disk: n.disk}
}

func (n *node) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.disk.wait()
	return f.(fs.FileWriter).Write(ctx, data, off)
}

func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	n.disk.wait()
	if s, ok := f.(fs.FileFsyncer); ok {
		return s.Fsync(ctx, flags)
	}
	return 0
}
