using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Fuselage.Buffers;
using Fuselage.Interop;
using Fuselage.Interop.Fuse;

namespace Fuselage;

/// <summary>
/// One request in flight: its input buffer (as the kernel wrote it) and its reply buffer (pinned, where
/// the filesystem writes its answer in place). Pooled per worker and reused; valid from the call of a
/// filesystem method until the method's <see cref="ValueTask{TResult}"/> completes.
/// </summary>
public sealed class Request : IValueTaskSource<int>
{
    private readonly BufferLease _input;
    private int _inputStart;
    // Where the reply's fuse_out_header and payload go. On /dev/fuse they are one contiguous buffer (header, then
    // payload); a FUSE-over-io_uring entry has them in two separate kernel-registered buffers.
    private BufferLease _replyHeader;
    private int _replyHeaderOffset;
    private BufferLease _replyPayload;
    private int _replyPayloadOffset;
    private int _replyPayloadLength;
    private CancellationTokenSource? _cancellation;
    private int _dirLength;
    private bool _dirFull;

    internal Request(BufferLease input, BufferLease reply, IReplySink sink, int poolIndex)
    {
        _input = input;
        _inputStart = AlignedInputStart;
        _replyHeader = reply;
        _replyHeaderOffset = AlignedPayloadOffset - FuseOutHeaderSize;
        _replyPayload = reply;
        _replyPayloadOffset = AlignedPayloadOffset;
        _replyPayloadLength = reply.Length - AlignedPayloadOffset;
        Sink = sink;
        PoolIndex = poolIndex;
        OnPendingComplete = () => Dispatcher!.CompletePending(this);
    }

    /// <summary>Bytes after the reply header the filesystem may fill (READ data, directory records, ...).</summary>
    public int ReplyCapacity => _replyPayloadLength;

    internal const int FuseOutHeaderSize = 16;

    // Buffers are page-aligned; requests and replies are placed so that the data lands on a page boundary:
    // READ data at the start of a page (an O_DIRECT backing file accepts it), WRITE data after its 80 bytes of
    // headers likewise. O_DIRECT on ext4 refused the unaligned spans with EINVAL.
    internal const int AlignedPayloadOffset = NativeSlab.PageSize;
    internal const int AlignedInputStart = NativeSlab.PageSize - WriteDataStart;

    /// <summary>The header and the largest fixed-size reply struct: what <see cref="ResetForReuse"/> zeroes.</summary>
    internal static readonly int FixedReplyBytes = FuseOutHeaderSize + Math.Max(
        Math.Max(Unsafe.SizeOf<FuseEntryOut>() + Unsafe.SizeOf<FuseOpenOut>(), Unsafe.SizeOf<FuseStatxOut>()),
        Math.Max(Math.Max(Unsafe.SizeOf<FuseAttrOut>(), Unsafe.SizeOf<FuseKstatfs>()), Math.Max(Unsafe.SizeOf<FuseLkOut>(), Unsafe.SizeOf<FuseIoctlOut>())));
    internal const int FuseInHeaderSize = 40;
    /// <summary>Where a WRITE's data begins in the request: after fuse_in_header and the 40-byte fuse_write_in.</summary>
    private const int WriteDataStart = FuseInHeaderSize + 40;

    /// <summary>Where the reply goes: the worker serving the request (a uring entry moves between queue threads).</summary>
    internal IReplySink Sink { get; set; }
    /// <summary>The owning worker's ring, when it has one, for <see cref="ReadFileAsync"/> and <see cref="WritePayloadAsync"/>.</summary>
    internal IFileIo? FileIo { get; set; }
    internal CoherencyPolicy Policy { get; set; } = CoherencyPolicy.Classic;
    /// <summary>Position among its worker's requests (the ring transport encodes it in user_data).</summary>
    internal int PoolIndex { get; }
    internal int InputLength { get; set; }
    /// <summary>The request as the kernel sent it (fuse_in_header first), from <see cref="InputStart"/> on.</summary>
    internal Span<byte> InputBuffer => _input.Span[_inputStart..];
    internal nint InputAddress => _input.Address + _inputStart;
    /// <summary>Where in the input buffer the request begins (the uring transport places the headers in front of the payload).</summary>
    internal int InputStart { get => _inputStart; set => _inputStart = value; }

    /// <summary>fuse_out_header of the reply.</summary>
    internal Span<byte> ReplyHeader => _replyHeader.Span.Slice(_replyHeaderOffset, FuseOutHeaderSize);
    /// <summary>Header and payload as one contiguous buffer, as /dev/fuse transports write it.</summary>
    internal Span<byte> ReplyBuffer => _replyHeader.Span[_replyHeaderOffset..];
    internal nint ReplyAddress => _replyHeader.Address + _replyHeaderOffset;
    private nint ReplyPayloadAddress => _replyPayload.Address + _replyPayloadOffset;

    /// <summary>Points the reply at separate header and payload areas (FUSE-over-io_uring entries).</summary>
    internal void SetReplyAreas(BufferLease header, int headerOffset, BufferLease payload, int payloadOffset, int payloadLength)
    {
        _replyHeader = header;
        _replyHeaderOffset = headerOffset;
        _replyPayload = payload;
        _replyPayloadOffset = payloadOffset;
        _replyPayloadLength = payloadLength;
    }

    /// <summary>Total reply bytes (header included) once the reply is built; 0 = no reply is sent (FORGET, ...).</summary>
    internal int ReplyLength { get; set; }

    /// <summary>Opcode being served (raw value, may be unknown).</summary>
    internal uint OpcodeValue { get; set; }
    internal FuseOpcode Opcode => (FuseOpcode)OpcodeValue;

    /// <summary>The method's unfinished result, and the continuation that finishes it: made once, with the request,
    /// so that no closure is allocated when a method goes asynchronous.</summary>
    internal ValueTask<int> Pending;
    internal Action OnPendingComplete { get; }
    internal Dispatcher? Dispatcher { get; set; }

    /// <summary>Where this request is in the interrupt table; -1 when not registered.</summary>
    internal int InFlightSlot { get; set; } = -1;

    internal ref readonly FuseInHeader Header => ref MemoryMarshal.AsRef<FuseInHeader>(InputBuffer);

    /// <summary>The kernel's id of this request.</summary>
    public ulong Unique => Header.Unique;
    /// <summary>Bit 63 of the unique: the kernel sends this request again after <see cref="Notifications.Resend"/>
    /// (it may have reached the filesystem before, under the unique without this bit).</summary>
    public bool IsResend => (Header.Unique & ResendBit) != 0;
    internal const ulong ResendBit = 1UL << 63;
    /// <summary>Caller's fsuid, fsgid and thread-group id.</summary>
    public uint Uid => Header.Uid;
    public uint Gid => Header.Gid;
    public uint Pid => Header.Pid;

    /// <summary>
    /// Cancelled when the kernel INTERRUPTs this request (the caller got a signal). A method that honours it
    /// returns <c>-EINTR</c>.
    /// </summary>
    public CancellationToken CancellationToken
    {
        get
        {
            if (IsInterrupted) return new CancellationToken(canceled: true);
            if (Volatile.Read(ref _cancellation) is { } existing) return existing.Token;
            var created = new CancellationTokenSource();
            var source = Interlocked.CompareExchange(ref _cancellation, created, null) ?? created; // a full fence
            if (source != created) created.Dispose();
            // An interrupt that came while the source was being made found none to cancel.
            if (IsInterrupted) source.Cancel();
            return source.Token;
        }
    }

    // The unique of the request an INTERRUPT named; it marks this request only while this request serves that unique.
    private ulong _interruptedUnique;

    internal bool IsInterrupted => Volatile.Read(ref _interruptedUnique) is var u && u != 0 && u == Unique;

    internal void Interrupt() => Interrupt(Unique);

    /// <summary>Interrupts this request if it still serves <paramref name="unique"/>: it may have been found in the
    /// in-flight table just before it completed and went on to serve another request.</summary>
    internal void Interrupt(ulong unique)
    {
        Interlocked.Exchange(ref _interruptedUnique, unique); // a full fence: the source is read after the mark is seen
        if (unique != Unique) return;
        // Only a method that asked for the token can observe the interrupt; creating it here would race.
        Volatile.Read(ref _cancellation)?.Cancel();
    }

    /// <summary>Clears per-request state for reuse; a cancelled token source cannot be reset and is replaced lazily.</summary>
    internal void ResetForReuse()
    {
        Volatile.Write(ref _interruptedUnique, 0);
        ReplyLength = 0;
        // The reply structs are filled in place and a method sets only the fields it knows (an OPEN sets Fh):
        // whatever the buffer's previous reply left in the others would reach the kernel. Stale open_flags
        // (FOPEN_PASSTHROUGH, FOPEN_NONSEEKABLE, FOPEN_STREAM, ...) made opens fail with EIO and writes land at
        // the wrong offset. Every fixed-size reply starts zeroed; variable data (READ, listings) is written in full.
        Payload[..Math.Min(_replyPayloadLength, FixedReplyBytes)].Clear();
        _dirLength = 0;
        _dirFull = false;
        if (_cancellation is not null && !_cancellation.TryReset())
        {
            _cancellation.Dispose();
            _cancellation = null;
        }
    }

    // ---- file I/O on the worker's ring ----

    // One operation at a time per request: the completion source is reused, so this allocates nothing.
    private ManualResetValueTaskSourceCore<int> _io;

    /// <summary>
    /// Reads <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/> straight into
    /// <see cref="Data"/>; completes with the byte count or <c>-errno</c>. On a ring transport the read is submitted
    /// to the worker's own ring and the worker serves other requests meanwhile; elsewhere it is a plain pread.
    /// </summary>
    public ValueTask<int> ReadFileAsync(int fd, long offset, int length)
    {
        length = Math.Min(length, ReplyCapacity);
        return Submit(write: false, fd, ReplyPayloadAddress, length, offset);
    }

    /// <summary>Writes the data of this WRITE request to <paramref name="fd"/> at <paramref name="offset"/>, from the request buffer; byte count or <c>-errno</c>.</summary>
    public ValueTask<int> WritePayloadAsync(int fd, long offset)
    {
        if (Opcode != FuseOpcode.Write) throw new InvalidOperationException("WritePayloadAsync serves WRITE requests only");
        int length = (int)MemoryMarshal.Read<FuseWriteIn>(InputBuffer[FuseInHeaderSize..]).Size;
        return Submit(write: true, fd, InputAddress + WriteDataStart, length, offset);
    }

    private ValueTask<int> Submit(bool write, int fd, nint address, int length, long offset)
    {
        _io.Reset();
        _ringReadLength = -1;
        if (FileIo is { } io && io.TrySubmit(this, write, fd, address, length, offset))
        {
            if (!write) _ringReadLength = length;
            return new ValueTask<int>(this, _io.Version);
        }
        nint n = write
            ? Libc.PWrite(fd, InputBuffer.Slice(WriteDataStart, length), offset)
            : Libc.PRead(fd, Data[..length], offset);
        return new ValueTask<int>(n < 0 ? -Errno.Last : (int)n);
    }

    // The length of the file read last queued on the worker's ring; -1 when the last file I/O was not such a read.
    private int _ringReadLength = -1;

    /// <summary>
    /// The length of the file read on the worker's ring that <paramref name="task"/> stands for, when a method returned
    /// that read's task as its own result (its reply is then known before the read completes); -1 otherwise.
    /// </summary>
    internal int RingReadLength(in ValueTask<int> task) =>
        _ringReadLength >= 0 && task.Equals(new ValueTask<int>(this, _io.Version)) ? _ringReadLength : -1;

    /// <summary>The length of the file read last queued on the worker's ring (-1: the last file I/O was not such a read).</summary>
    internal int QueuedReadLength => _ringReadLength;

    /// <summary>Called by the worker on the CQE of a <see cref="IFileIo.TrySubmit"/>; runs the method's continuation inline.</summary>
    internal void CompleteFileIo(int result) => _io.SetResult(result);

    int IValueTaskSource<int>.GetResult(short token) => _io.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _io.GetStatus(token);
    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _io.OnCompleted(continuation, state, token, flags);

    // ---- reply areas: the filesystem writes its answer here, in place ----

    private Span<byte> Payload => _replyPayload.Span.Slice(_replyPayloadOffset, _replyPayloadLength);

    private ref T PayloadAs<T>(int offset = 0) where T : unmanaged => ref MemoryMarshal.AsRef<T>(Payload[offset..]);

    /// <summary>Reply of LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE: fill NodeId, Generation and Attr. Timeouts are set by the engine's coherency policy.</summary>
    public ref FuseEntryOut Entry => ref PayloadAs<FuseEntryOut>();

    /// <summary>Reply of GETATTR and SETATTR: fill the attributes.</summary>
    public ref FuseAttr Attr => ref PayloadAs<FuseAttrOut>().Attr;

    /// <summary>Reply of OPEN, OPENDIR, CREATE, TMPFILE: file handle and FOPEN_* flags.</summary>
    public ref FuseOpenOut Open => ref PayloadAs<FuseOpenOut>(Opcode is FuseOpcode.Create or FuseOpcode.Tmpfile ? Unsafe.SizeOf<FuseEntryOut>() : 0);

    /// <summary>OPEN/CREATE: the kernel reads and writes this file through the backing file <paramref name="backingId"/> (<see cref="BackingFiles.Open"/>).</summary>
    public void PassThroughTo(int backingId)
    {
        ref var open = ref Open;
        open.OpenFlags |= (uint)FuseOpenReplyFlags.Passthrough;
        open.BackingId = backingId;
    }

    /// <summary>Reply of STATFS.</summary>
    public ref FuseKstatfs StatFs => ref PayloadAs<FuseKstatfs>();

    /// <summary>Reply of STATX.</summary>
    public ref FuseStatxOut Statx => ref PayloadAs<FuseStatxOut>();

    /// <summary>Reply of GETLK: the conflicting lock, or type F_UNLCK.</summary>
    public ref FuseFileLock Lock => ref PayloadAs<FuseLkOut>().Lk;

    /// <summary>Reply of LSEEK: the resulting offset.</summary>
    public ref ulong SeekOffset => ref PayloadAs<ulong>();

    /// <summary>Reply of BMAP: the device block.</summary>
    public ref ulong BmapBlock => ref PayloadAs<ulong>();

    /// <summary>Reply of COPY_FILE_RANGE: bytes copied.</summary>
    public ref ulong BytesCopied => ref PayloadAs<ulong>();

    /// <summary>Reply of IOCTL: bytes of output data written into <see cref="Data"/> after the ioctl header.</summary>
    public int IoctlOutputLength { get; set; }

    /// <summary>Variable-size reply data (READ, READLINK, xattr values and lists), written from its start.</summary>
    public Span<byte> Data => Payload;

    // ---- directory listings ----

    internal int DirectoryLength => _dirLength;
    internal int DirectoryLimit { get; set; }

    /// <summary>
    /// Appends one READDIR record. Returns false (and writes nothing) when the kernel's buffer is full:
    /// stop listing then; the kernel asks again from <paramref name="nextOffset"/> of the last record added.
    /// Throws <see cref="ArgumentException"/> for a name the kernel refuses (empty, over 4095 bytes, or with a '/').
    /// </summary>
    public bool AddDirEntry(ReadOnlySpan<byte> name, ulong ino, uint type, ulong nextOffset)
    {
        DirentLayout.CheckEntryName(name);
        int recordLength = DirentLayout.RecordLength(name.Length, plus: false);
        if (_dirFull || _dirLength + recordLength > DirectoryLimit) { _dirFull = true; return false; }
        DirentLayout.WriteDirent(Payload.Slice(_dirLength, recordLength), name, ino, type, nextOffset);
        _dirLength += recordLength;
        return true;
    }

    /// <summary>
    /// Appends one READDIRPLUS record and returns a reference to its entry (fill NodeId, Generation, Attr), or
    /// false when full. A record with a non-zero NodeId counts as a LOOKUP (except "." and ".."): the filesystem
    /// must count it as one, as for <see cref="FileSystem.Lookup"/>. Names as for <see cref="AddDirEntry"/>.
    /// </summary>
    public bool AddDirEntryPlus(ReadOnlySpan<byte> name, in FuseEntryOut entry, ulong nextOffset)
    {
        DirentLayout.CheckEntryName(name);
        int recordLength = DirentLayout.RecordLength(name.Length, plus: true);
        if (_dirFull || _dirLength + recordLength > DirectoryLimit) { _dirFull = true; return false; }
        var record = Payload.Slice(_dirLength, recordLength);
        DirentLayout.WriteDirentPlus(record, name, entry, nextOffset);
        Policy.ApplyToEntry(ref MemoryMarshal.AsRef<FuseEntryOut>(record));
        _dirLength += recordLength;
        return true;
    }
}
