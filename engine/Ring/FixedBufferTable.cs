using Fuselage.Buffers;
using Fuselage.Interop;

namespace Fuselage.Ring;

/// <summary>
/// One ring's fixed buffers: the request buffers of a <see cref="DataSlabs"/>, each registered the first time a large
/// transfer goes through it. File I/O into or out of a registered buffer goes as READ_FIXED / WRITE_FIXED, and the
/// kernel no longer pins and unpins its pages for every O_DIRECT transfer (256 pages for a 1 MiB write).
/// Registering pins the whole buffer for the ring's life, so only a transfer of <see cref="MinRegisteringLength"/> or
/// more registers one: it touches most of its buffer anyway, while a server that only ever moves 4 KiB keeps the
/// untouched rest of its 1 MiB buffers uncommitted. Only the ring's submitting thread uses the table (the kernel wants
/// a SINGLE_ISSUER ring's registrations from that thread). Where the kernel refuses — no sparse tables before 5.19,
/// RLIMIT_MEMLOCK for a server without CAP_IPC_LOCK — file I/O goes unregistered, as without the table.
/// </summary>
public sealed class FixedBufferTable
{
    /// <summary>Slots of the sparse table, one per buffer: buffers past the last slot go unregistered.</summary>
    public const int Slots = 1024;

    /// <summary>The smallest transfer that registers its buffer (a smaller one uses it only when already registered).</summary>
    public const int MinRegisteringLength = 128 * 1024;

    private readonly Ring _ring;
    private readonly DataSlabs _source;
    private readonly Action<string> _log;
    private readonly bool[] _registered = new bool[Slots];
    private NativeSlab[] _slabs = [];  // the source's slabs as last taken
    private int[] _firstSlots = [];    // slot of each slab's first buffer; -1: past the table
    private int _slotsAssigned, _registeredCount;
    private bool _refused; // the kernel said no once: it is not asked again

    public FixedBufferTable(Ring ring, DataSlabs source, Action<string> log)
    {
        _ring = ring;
        _source = source;
        _log = log;
        try { ring.RegisterSparseBuffers(Slots); }
        catch (ErrnoException e) { Refused(e); }
    }

    /// <summary>Buffers registered with the ring so far.</summary>
    public int Registered => _registeredCount;

    /// <summary>
    /// The fixed-buffer index for a transfer of [<paramref name="address"/>, +<paramref name="length"/>), which must lie
    /// in one buffer of the source; registers that buffer first when the transfer is large enough. False: the
    /// transfer goes unregistered.
    /// </summary>
    public bool TryFind(nint address, int length, out ushort index)
    {
        index = 0;
        if (_refused && _registeredCount == 0) return false;
        if (!Locate(address, length, out int slot, out nint buffer, out int bufferSize)
            && !(TakeNewSlabs() && Locate(address, length, out slot, out buffer, out bufferSize)))
            return false;
        if (slot < 0) return false;
        if (!_registered[slot])
        {
            if (_refused || length < MinRegisteringLength) return false;
            try { _ring.UpdateRegisteredBuffers((uint)slot, [new Iovec(buffer, (nuint)bufferSize)]); }
            catch (ErrnoException e) { Refused(e); return false; }
            _registered[slot] = true;
            _registeredCount++;
        }
        index = (ushort)slot;
        return true;
    }

    /// <summary>The slot (-1: none) and bounds of the buffer holding the transfer; false when no known buffer holds all of it.</summary>
    private bool Locate(nint address, int length, out int slot, out nint buffer, out int bufferSize)
    {
        var slabs = _slabs;
        for (int s = 0; s < slabs.Length; s++)
        {
            var slab = slabs[s];
            nint offset = address - slab.Address;
            if (offset < 0 || (nuint)offset >= slab.Length) continue;
            int i = (int)(offset / slab.BufferSize);
            buffer = slab.AddressOf(i);
            bufferSize = slab.BufferSize;
            slot = _firstSlots[s] < 0 ? -1 : _firstSlots[s] + i;
            return address + length <= buffer + bufferSize;
        }
        slot = -1;
        buffer = 0;
        bufferSize = 0;
        return false;
    }

    private bool TakeNewSlabs()
    {
        var slabs = _source.Current;
        if (slabs.Length == _slabs.Length) return false;
        var firstSlots = new int[slabs.Length];
        _firstSlots.CopyTo(firstSlots, 0);
        for (int s = _slabs.Length; s < slabs.Length; s++)
        {
            bool fits = _slotsAssigned + slabs[s].BufferCount <= Slots;
            firstSlots[s] = fits ? _slotsAssigned : -1;
            if (fits) _slotsAssigned += slabs[s].BufferCount;
        }
        _firstSlots = firstSlots;
        _slabs = slabs;
        return true;
    }

    private void Refused(ErrnoException e)
    {
        _refused = true;
        _log($"fuselage: fixed buffers: {e.Message}; file I/O that is not registered yet goes unregistered (its pages pinned each time)");
    }
}
