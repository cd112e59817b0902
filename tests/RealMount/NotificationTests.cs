using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Fuselage.Interop;

namespace Fuselage.Tests;

/// <summary>Notifications reach the kernel on every transport: cached names, attributes and data are dropped,
/// filled and read back on request.</summary>
[Collection("real mounts")]
public class NotificationTests
{
    /// <summary>A root with named files whose set and sizes the test changes behind the kernel's back. Every file
    /// reads as <see cref="Content"/> and is opened with keep-cache, so data the kernel caches stays cached.</summary>
    private sealed class ChangingFs : FileSystem
    {
        public readonly Dictionary<string, (ulong Ino, ulong Size)> Files = new() { ["a"] = (2, 5) };
        public static readonly byte[] Content = "hello"u8.ToArray();
        private readonly Dictionary<string, int> _lookups = [];
        public int Reads;
        public readonly TaskCompletionSource<ulong> FileAForgotten = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource<(ulong Unique, ulong Ino, long Offset, byte[] Data)> Retrieved =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int LookupsOf(string name) { lock (_lookups) return _lookups.GetValueOrDefault(name); }

        private static void Fill(ref Fuselage.Interop.Fuse.FuseAttr attr, ulong ino, ulong size)
        {
            attr.Ino = ino;
            attr.Mode = ino == 1 ? 0x41EDu : 0x81A4u;
            attr.Nlink = ino == 1 ? 2u : 1u;
            attr.Size = size;
        }

        public override ValueTask<int> Lookup(Request request, ulong parent, ReadOnlySpan<byte> name)
        {
            string text = Encoding.UTF8.GetString(name);
            lock (_lookups) _lookups[text] = _lookups.GetValueOrDefault(text) + 1;
            lock (Files)
            {
                if (parent != 1 || !Files.TryGetValue(text, out var f)) return Error(Errno.ENOENT);
                request.Entry.NodeId = f.Ino;
                Fill(ref request.Entry.Attr, f.Ino, f.Size);
            }
            return Success;
        }

        public override ValueTask<int> GetAttr(Request request, ulong ino, ulong? fh)
        {
            lock (Files)
            {
                if (ino == 1) { Fill(ref request.Attr, 1, 0); return Success; }
                foreach (var f in Files.Values)
                    if (f.Ino == ino) { Fill(ref request.Attr, ino, f.Size); return Success; }
            }
            return Error(Errno.ENOENT);
        }

        public override ValueTask<int> Open(Request request, ulong ino, int flags)
        {
            request.Open.OpenFlags = (uint)Fuselage.Interop.Fuse.FuseOpenReplyFlags.KeepCache;
            return Success;
        }

        public override ValueTask<int> Read(Request request, ulong ino, ulong fh, long offset, Span<byte> buffer)
        {
            Interlocked.Increment(ref Reads);
            if (offset >= Content.Length) return new(0);
            int n = Math.Min(buffer.Length, Content.Length - (int)offset);
            Content.AsSpan((int)offset, n).CopyTo(buffer);
            return new(n);
        }

        public override void Forget(ulong ino, ulong nlookup)
        {
            if (ino == 2) FileAForgotten.TrySetResult(nlookup);
        }

        public override void RetrieveReply(ulong notifyUnique, ulong ino, long offset, ReadOnlySpan<byte> data) =>
            Retrieved.TrySetResult((notifyUnique, ino, offset, data.ToArray()));
    }

    private static T Await<T>(TaskCompletionSource<T> source)
    {
        Assert.True(source.Task.Wait(MountedFs.Watchdog), "the kernel did not answer within the watchdog");
        return source.Task.Result;
    }

    private static string ReadFile(string path)
    {
        int fd = Posix.Open(path, Posix.O_RDONLY);
        Assert.True(fd >= 0, $"open: {fd}");
        try
        {
            var buffer = new byte[64];
            long n = Posix.PRead(fd, buffer, 0);
            Assert.True(n >= 0, $"pread: {n}");
            return Encoding.ASCII.GetString(buffer, 0, (int)n);
        }
        finally { Posix.Close(fd); }
    }

    public static TheoryData<TransportKind> Transports => [TransportKind.Ring, TransportKind.Threads, TransportKind.Uring];

    private static MountedFs MountLongCaching(ChangingFs fs, TransportKind transport) => new(fs, transport, configure: o =>
        o.Policy = new CoherencyPolicy(CacheMode.Classic, TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.Zero));

    /// <summary>Has the kernel cache <paramref name="name"/>, removes it behind the kernel's back, and shows the
    /// kernel still answering from its cache; returns the name's path.</summary>
    private static string CachedThenRemoved(ChangingFs fs, MountedFs m, string name)
    {
        string path = m.PathOf(name);
        m.Run(() => Assert.Equal(0, Posix.LStat(path, out _)));
        lock (fs.Files) fs.Files.Remove(name);
        m.Run(() => Assert.Equal(0, Posix.LStat(path, out _))); // still cached for an hour
        return path;
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Invalidating_an_entry_makes_the_kernel_look_the_name_up_again(TransportKind transport)
    {
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, transport);
        string a = CachedThenRemoved(fs, m, "a");
        Assert.Equal(0, m.Server.Notify.InvalidateEntry(1, "a"u8));
        m.Run(() => Assert.Equal(-Errno.ENOENT, Posix.LStat(a, out _)));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Invalidating_an_inode_refreshes_its_attributes(TransportKind transport)
    {
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, transport);
        string a = m.PathOf("a");
        m.Run(() => { Posix.LStat(a, out var st); Assert.Equal(5, st.Size); });
        lock (fs.Files) fs.Files["a"] = (2, 10);
        m.Run(() => { Posix.LStat(a, out var st); Assert.Equal(5, st.Size); }); // cached
        Assert.Equal(0, m.Server.Notify.InvalidateInode(2, offset: -1));
        m.Run(() => { Posix.LStat(a, out var st); Assert.Equal(10, st.Size); });
        // An inode the kernel never saw: ENOENT, nothing else happens.
        Assert.Equal(-Errno.ENOENT, m.Server.Notify.InvalidateInode(999));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Deleting_a_cached_name_makes_the_kernel_look_it_up_again(TransportKind transport)
    {
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, transport);
        string a = CachedThenRemoved(fs, m, "a");
        Assert.Equal(1, fs.LookupsOf("a"));
        Assert.Equal(0, m.Server.Notify.Delete(1, 2, "a"u8));
        m.Run(() => Assert.Equal(-Errno.ENOENT, Posix.LStat(a, out _)));
        Assert.Equal(2, fs.LookupsOf("a")); // the name was dropped, not just marked: the kernel asked again
    }

    [Fact]
    public void Entry_notifications_take_the_long_names_the_kernel_looks_up()
    {
        // With MAX_PAGES and max_pages > 1 the kernel (6.14+) looks up, lists and takes in INVAL_ENTRY and DELETE
        // names of up to PATH_MAX - 1 bytes (fc->name_max), not only 1024.
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, TransportKind.Threads);
        string first = new('e', 2000);
        string second = new('d', 4095 - m.Root.Length - 2); // the whole path, NUL included, within PATH_MAX
        lock (fs.Files) { fs.Files[first] = (3, 5); fs.Files[second] = (4, 5); }

        string firstPath = CachedThenRemoved(fs, m, first);
        Assert.Equal(0, m.Server.Notify.InvalidateEntry(1, Encoding.ASCII.GetBytes(first)));
        m.Run(() => Assert.Equal(-Errno.ENOENT, Posix.LStat(firstPath, out _)));

        string secondPath = CachedThenRemoved(fs, m, second);
        Assert.Equal(0, m.Server.Notify.Delete(1, 4, Encoding.ASCII.GetBytes(second)));
        m.Run(() => Assert.Equal(-Errno.ENOENT, Posix.LStat(secondPath, out _)));

        Assert.Equal(-Errno.EINVAL, m.Server.Notify.InvalidateEntry(1, new byte[4096])); // past PATH_MAX - 1
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Stored_data_is_read_from_the_page_cache_and_retrieved_back(TransportKind transport)
    {
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, transport);
        string a = m.PathOf("a");
        m.Run(() => Assert.Equal(0, Posix.LStat(a, out _))); // the kernel now knows inode 2 (5 bytes)
        Assert.Equal(0, m.Server.Notify.Store(2, 0, "STORE"u8));
        m.Run(() => Assert.Equal("STORE", ReadFile(a))); // not the filesystem's "hello"
        Assert.Equal(0, Volatile.Read(ref fs.Reads));

        ulong unique = m.Server.Notify.NextRetrieveUnique();
        Assert.Equal(0, m.Server.Notify.Retrieve(2, 1, 3, unique));
        var (replyUnique, ino, offset, data) = Await(fs.Retrieved);
        Assert.Equal((unique, 2ul, 1L, "TOR"), (replyUnique, ino, offset, Encoding.ASCII.GetString(data)));

        Assert.Equal(-Errno.ENOENT, m.Server.Notify.Retrieve(999, 0, 5, m.Server.Notify.NextRetrieveUnique()));
        Assert.Equal(-Errno.EINVAL, m.Server.Notify.Retrieve(2, 0, 5, notifyUnique: 42)); // not an engine unique
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Incrementing_the_epoch_makes_the_kernel_look_every_cached_name_up_again(TransportKind transport)
    {
        var fs = new ChangingFs();
        lock (fs.Files) fs.Files["b"] = (3, 7);
        using var m = MountLongCaching(fs, transport);
        string a = m.PathOf("a"), b = m.PathOf("b");
        m.Run(() => { Assert.Equal(0, Posix.LStat(a, out _)); Assert.Equal(0, Posix.LStat(b, out _)); });
        lock (fs.Files) { fs.Files.Remove("a"); fs.Files["b"] = (3, 8); }
        m.Run(() => { Assert.Equal(0, Posix.LStat(a, out _)); Posix.LStat(b, out var st); Assert.Equal(7, st.Size); }); // cached
        Assert.Equal((1, 1), (fs.LookupsOf("a"), fs.LookupsOf("b")));

        Assert.Equal(0, m.Server.Notify.IncrementEpoch());
        m.Run(() =>
        {
            Assert.Equal(-Errno.ENOENT, Posix.LStat(a, out _));
            Assert.Equal(0, Posix.LStat(b, out var st));
            Assert.Equal(8, st.Size);
        });
        Assert.Equal((2, 2), (fs.LookupsOf("a"), fs.LookupsOf("b")));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Pruning_a_node_id_makes_the_kernel_forget_it(TransportKind transport)
    {
        var fs = new ChangingFs();
        using var m = MountLongCaching(fs, transport);
        string a = m.PathOf("a");
        m.Run(() => Assert.Equal("hello", ReadFile(a))); // looked up once, opened and closed
        Assert.False(fs.FileAForgotten.Task.IsCompleted); // cached for an hour: nothing forgotten yet

        Assert.Equal(0, m.Server.Notify.Prune([2]));
        Assert.Equal(1ul, Await(fs.FileAForgotten)); // the one lookup, given back
        m.Run(() => Assert.Equal(0, Posix.LStat(a, out _)));
        Assert.Equal(2, fs.LookupsOf("a")); // the name went with the inode

        // Ids the kernel does not hold are skipped, in batches past the kernel's 512 as well.
        Assert.Equal(0, m.Server.Notify.Prune(Enumerable.Range(1_000, 2_000).Select(i => (ulong)i).ToArray()));
        Assert.Equal(-Errno.EINVAL, m.Server.Notify.Prune([]));
        // Refused on its length alone: the span is never read.
        var tooMany = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.NullRef<ulong>(), Notifications.MaxPruneCount + 1);
        Assert.Equal(-Errno.EINVAL, m.Server.Notify.Prune(tooMany));
    }
}
