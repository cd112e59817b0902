using System.Text.Json;
using Fuselage.Bench.E2e;

namespace Fuselage.Tests.Bench;

/// <summary>The e2e runner's host-stall probe: the rule that counts a late wake-up, and how rows carry and show the counts.</summary>
public class HostStallTests
{
    private static readonly TimeSpan TenMs = TimeSpan.FromMilliseconds(10);

    private static Row R(string system, double? stalls, double? stallMs) =>
        new("w", system, 100, 10, null) { HostStalls = stalls, HostStallMilliseconds = stallMs };

    [Fact]
    public void Only_a_wake_up_more_than_the_threshold_late_counts_and_adds_its_lateness()
    {
        var counter = new StallCounter();

        counter.Record(TenMs, TenMs);                                  // on time
        counter.Record(TenMs, TenMs + TimeSpan.FromMilliseconds(2));   // a guest scheduling delay
        counter.Record(TenMs, TenMs + StallCounter.Threshold);         // exactly the threshold: not yet a stall
        Assert.Equal(new StallReading(0, 0), counter.Reading);

        counter.Record(TenMs, TimeSpan.FromMilliseconds(28));          // an 18 ms host pause
        counter.Record(TenMs, TimeSpan.FromMilliseconds(17));
        Assert.Equal(2, counter.Reading.Stalls);
        Assert.Equal(25, counter.Reading.LateMilliseconds, precision: 6);
    }

    [Fact]
    public void Two_readings_subtract_to_what_fell_between_them()
    {
        var between = new StallReading(7, 130.5) - new StallReading(2, 30);

        Assert.Equal(new StallReading(5, 100.5), between);
    }

    [Fact]
    public void The_probe_runs_until_disposed_and_its_dispose_ends_its_thread()
    {
        var probe = new HostStallProbe();
        Assert.True(probe.Running);
        var reading = probe.Read();
        Assert.True(reading.Stalls >= 0 && reading.LateMilliseconds >= 0);

        probe.Dispose();

        Assert.False(probe.Running);
    }

    [Fact]
    public void The_median_of_rounds_takes_the_stall_figures_on_their_own_and_skips_rounds_without_them()
    {
        var median = Report.Median([R("s", 30, 300), R("s", 10, 500), R("s", 20, 100), R("s", null, null)]);

        Assert.Equal(20, median.HostStalls);
        Assert.Equal(300, median.HostStallMilliseconds);
        Assert.Null(Report.Median([R("s", null, null)]).HostStalls);
    }

    [Fact]
    public void The_table_shows_a_stall_column_only_for_rows_that_have_the_figures()
    {
        string withStalls = Report.Markdown([R("libfuse", 17, 210.4), R("fuselage-uring", 0, 0)]);
        Assert.Contains("| host stalls (ms) |", withStalls);
        Assert.Contains("| 17 (210) |", withStalls);
        Assert.EndsWith("| 0 |", withStalls.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);

        // Results written before the probe existed: the nine columns they had.
        string without = Report.Markdown([R("libfuse", null, null)]);
        Assert.DoesNotContain("host stalls", without);
        Assert.Equal(10, without.Split('\n')[0].Count(c => c == '|'));
    }

    [Fact]
    public void The_json_rows_carry_the_stall_figures_and_read_them_back()
    {
        var rows = new List<Row> { R("libfuse", 17, 210) };
        var run = new RunInfo("test", "2026-11-28", 7, 3, [], [], []);

        string json = Report.Json(rows, [], run);
        using (var doc = JsonDocument.Parse(json))
        {
            var row = doc.RootElement.GetProperty("rows")[0];
            Assert.Equal(17, row.GetProperty("host_stalls").GetDouble());
            Assert.Equal(210, row.GetProperty("host_stall_ms").GetDouble());
        }
        var (read, _) = Report.ReadJson(json);
        Assert.Equal((17.0, 210.0), (read[0].HostStalls!.Value, read[0].HostStallMilliseconds!.Value));
    }
}
