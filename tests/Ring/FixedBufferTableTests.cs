using Fuselage.Buffers;
using Fuselage.Interop;
using Fuselage.Ring;

namespace Fuselage.Tests.Rings;

using Ring = Fuselage.Ring.Ring;

public class FixedBufferTableTests
{
    [Fact]
    public void Sparse_slots_refuse_fixed_io_until_a_buffer_is_put_in_them()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        var data = PinnedBuffer.WithPattern(4096, seed: 4);
        ring.RegisterSparseBuffers(2);

        ring.GetSqe().PrepareWriteFixed(file.Fd, data.Address, 4096, offset: 0, bufferIndex: 1, userData: 1);
        Assert.Equal(-Errno.EFAULT, RingAssert.Single(RingAssert.WaitFor(ring, 1), 1).Res);

        ring.UpdateRegisteredBuffers(1, [new Iovec(data.Address, 4096)]);
        ring.GetSqe().PrepareWriteFixed(file.Fd, data.Address, 4096, offset: 0, bufferIndex: 1, userData: 2);
        Assert.Equal(4096, RingAssert.Single(RingAssert.WaitFor(ring, 1), 2).Res);
        Assert.Equal(data.Array, File.ReadAllBytes(file.Path));
    }

    private const int Large = FixedBufferTable.MinRegisteringLength;

    [Fact]
    public void A_large_transfer_registers_its_buffer_and_the_indices_serve_fixed_reads_and_writes()
    {
        using var file = new TempFile();
        using var ring = new Ring(8);
        using var first = new BufferPool(2 * Large, 2);
        using var later = new BufferPool(Large, 3);
        var slabs = new DataSlabs();
        slabs.Add(first);
        var log = new List<string>();
        var table = new FixedBufferTable(ring, slabs, log.Add);

        // A small transfer registers nothing: the rest of its buffer stays untouched.
        Assert.False(table.TryFind(first.Slab.AddressOf(1), 4096, out _));
        Assert.Equal(0, table.Registered);
        Assert.True(table.TryFind(first.Slab.AddressOf(1) + 4096, Large, out ushort firstIndex));
        Assert.Equal(1, firstIndex); // slot = the buffer's place in the slab
        Assert.Equal(1, table.Registered);
        Assert.True(table.TryFind(first.Slab.AddressOf(1), 4096, out ushort again)); // registered now: small ones use it too
        Assert.Equal(1, again);
        Assert.False(table.TryFind(first.Slab.AddressOf(0) + 4096, 2 * Large, out _)); // runs into the next buffer
        Assert.False(table.TryFind(later.Slab.AddressOf(0), Large, out _));           // not published yet

        slabs.Add(later);
        Assert.True(table.TryFind(later.Slab.AddressOf(2), Large, out ushort laterIndex));
        Assert.Equal(2 + 2, laterIndex); // after the first slab's two buffers
        Assert.Equal(2, table.Registered);

        // The kernel holds each buffer at the index the table gave: a write from one and a read into the other round-trip.
        var source = first.Slab.GetSpan(1);
        new Random(8).NextBytes(source);
        ring.GetSqe().PrepareWriteFixed(file.Fd, first.Slab.AddressOf(1), Large, offset: 0, firstIndex, userData: 1);
        Assert.Equal(Large, RingAssert.Single(RingAssert.WaitFor(ring, 1), 1).Res);
        ring.GetSqe().PrepareReadFixed(file.Fd, later.Slab.AddressOf(2), Large, offset: 0, laterIndex, userData: 2);
        Assert.Equal(Large, RingAssert.Single(RingAssert.WaitFor(ring, 1), 2).Res);
        Assert.Equal(source[..Large].ToArray(), later.Slab.GetSpan(2).ToArray());
        Assert.Empty(log);
    }

    [Fact]
    public void Buffers_past_the_last_slot_go_unregistered()
    {
        using var ring = new Ring(8);
        using var filling = new BufferPool(4096, FixedBufferTable.Slots - 1);
        using var overflowing = new BufferPool(Large, 2);
        var slabs = new DataSlabs();
        slabs.Add(filling);
        slabs.Add(overflowing); // needs two slots where one is left
        var table = new FixedBufferTable(ring, slabs, _ => { });
        Assert.False(table.TryFind(overflowing.Slab.AddressOf(0), Large, out _));
        Assert.Equal(0, table.Registered);
    }

    [Fact]
    public void A_table_the_kernel_refuses_finds_nothing_and_says_so_once()
    {
        using var ring = new Ring(8);
        using var pool = new BufferPool(Large, 1);
        var slabs = new DataSlabs();
        slabs.Add(pool);
        ring.RegisterSparseBuffers(1); // a ring takes one buffer table: the table's own registration gets EBUSY
        var log = new List<string>();
        var table = new FixedBufferTable(ring, slabs, log.Add);

        Assert.False(table.TryFind(pool.Slab.Address, Large, out _));
        Assert.False(table.TryFind(pool.Slab.Address, Large, out _));
        Assert.Equal(0, table.Registered);
        Assert.Contains("REGISTER_BUFFERS2", Assert.Single(log));
    }
}
