using Fuselage.Buffers;
using Fuselage.Interop;
using Fuselage.Interop.IoUring;
using Fuselage.Ring;

namespace Fuselage.Tests;

public class BufferPoolTests
{
    [Fact]
    public void Buffers_are_page_aligned_distinct_and_rounded_to_pages()
    {
        using var pool = new BufferPool(5000, 4);
        Assert.Equal(8192, pool.BufferSize);
        var leases = Enumerable.Range(0, 4).Select(_ => pool.Rent()).ToArray();
        Assert.All(leases, l => Assert.Equal(0, l.Address % NativeSlab.PageSize));
        Assert.Equal(4, leases.Select(l => l.Address).Distinct().Count());
        Assert.Equal(0, pool.Available);
        Assert.False(pool.TryRent(out _));
        leases[2].Return();
        Assert.True(pool.TryRent(out var again));
        Assert.Equal(leases[2].Index, again.Index);
    }

    [Fact]
    public void Returning_twice_is_refused()
    {
        using var pool = new BufferPool(4096, 2);
        var lease = pool.Rent();
        lease.Return();
        Assert.Throws<InvalidOperationException>(lease.Return);
    }

    [Fact]
    public void A_lease_is_its_buffer_of_the_slab_and_refuses_once_the_pool_is_disposed()
    {
        var pool = new BufferPool(4096, 3);
        pool.Rent();
        var lease = pool.Rent();
        Assert.Equal(pool.Slab.AddressOf(lease.Index), lease.Address);
        Assert.Equal(pool.Slab.Address + 4096, lease.Address);
        Assert.Equal(4096, lease.Length);
        Assert.Equal(4096, lease.Span.Length);

        pool.Dispose();

        // Freed native memory must never be handed out: a late user gets an exception, not someone else's memory.
        Assert.Throws<ObjectDisposedException>(() => lease.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => lease.Address);
        Assert.Throws<InvalidOperationException>(() => default(BufferLease).Span.Length);
    }

    [Fact]
    public void Spans_write_the_native_memory_and_rent_return_allocate_nothing()
    {
        using var pool = new BufferPool(4096, 8);
        var lease = pool.Rent();
        lease.Span.Fill(0xAB);
        Assert.Equal(0xAB, pool.Slab.GetSpan(lease.Index)[4095]);
        lease.Return();
        for (int i = 0; i < 10_000; i++) pool.Rent().Return();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++) pool.Rent().Return();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated / 100_000 == 0, $"{allocated} bytes over 100,000 rent/return pairs");
    }

    [Fact]
    public void A_registered_slab_serves_write_fixed_and_read_fixed()
    {
        using var pool = new BufferPool(4096, 2);
        using var ring = new Fuselage.Ring.Ring(8);
        ring.RegisterWith(pool);
        string path = Path.GetTempFileName();
        int fd = ErrnoException.Check(Libc.open(path, Libc.O_RDWR, 0), "open");
        try
        {
            var src = pool.Rent();
            var dst = pool.Rent();
            src.Span.Fill(7);
            ring.GetSqe().PrepareWriteFixed(fd, src.Address, 4096, 0, 0, 1);
            ring.SubmitAndWait(1);
            Assert.True(ring.TryReapCqe(out var cqe));
            Assert.Equal(4096, cqe.Res);
            ring.GetSqe().PrepareReadFixed(fd, dst.Address, 4096, 0, 0, 2);
            ring.SubmitAndWait(1);
            Assert.True(ring.TryReapCqe(out cqe));
            Assert.Equal(4096, cqe.Res);
            Assert.True(dst.Span.IndexOfAnyExcept((byte)7) < 0);
        }
        finally
        {
            Libc.close(fd);
            File.Delete(path);
        }
    }
}
