using System.Text.Json;
using Fuselage.Bench.E2e;

namespace Fuselage.Tests.Bench;

/// <summary>The e2e runner's arithmetic and outputs: ratios, medians, per-round ranges, the JSON rows, fio's output.</summary>
public class E2eReportTests
{
    private static Row R(string workload, string system, double ops, double p99, double? cpu) => new(workload, system, ops, p99, cpu);

    [Fact]
    public void Every_json_row_carries_the_five_measured_fields_even_when_one_is_null()
    {
        var rows = Report.WithRatios([R("w", "native", 200, 10, null), R("w", "libfuse", 100, 40, 20), R("w", "fuselage-ring", 150, 20, 10)]);

        using var doc = JsonDocument.Parse(Report.Json(rows, new { command = "test" }));

        var jsonRows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(3, jsonRows.Count);
        foreach (var row in jsonRows)
            foreach (var field in new[] { "workload", "system", "ops_per_s", "p99_us", "cpu_us_per_op" })
                Assert.True(row.TryGetProperty(field, out _), $"{row.GetProperty("system")} lacks {field}");
        Assert.Equal(JsonValueKind.Null, jsonRows[0].GetProperty("cpu_us_per_op").ValueKind);
        Assert.Equal(10, jsonRows[2].GetProperty("cpu_us_per_op").GetDouble());
        Assert.Equal("test", doc.RootElement.GetProperty("run").GetProperty("command").GetString());
    }

    [Fact]
    public void Ratios_compare_each_row_with_libfuse_and_native_of_its_own_workload_only()
    {
        var rows = Report.WithRatios(
        [
            R("read", "native", 200, 10, null), R("read", "libfuse", 100, 40, 20), R("read", "fuselage-ring", 150, 20, 10),
            // libfuse failed this one (its O_DIRECT writes): no libfuse ratio, the native one still there.
            R("write", "native", 400, 5, null), R("write", "fuselage-ring", 100, 50, 8),
        ]);

        var ring = rows.Single(r => r is { Workload: "read", System: "fuselage-ring" });
        Assert.Equal(1.5, ring.OpsVsLibfuse);
        Assert.Equal(0.75, ring.OpsVsNative);
        Assert.Equal(0.5, ring.P99VsLibfuse);
        Assert.Equal(0.5, ring.CpuVsLibfuse);
        var write = rows.Single(r => r is { Workload: "write", System: "fuselage-ring" });
        Assert.Null(write.OpsVsLibfuse);
        Assert.Null(write.CpuVsLibfuse);
        Assert.Equal(0.25, write.OpsVsNative);
        Assert.Null(rows.Single(r => r is { Workload: "read", System: "native" }).CpuVsLibfuse);
    }

    [Fact]
    public void The_median_of_rounds_takes_the_middle_value_of_each_figure_on_its_own()
    {
        var odd = Report.Median([R("w", "s", 300, 1, 9), R("w", "s", 100, 3, 7), R("w", "s", 200, 2, 8)]);
        Assert.Equal((200.0, 2.0, 8.0), (odd.OpsPerSecond, odd.P99Microseconds, odd.CpuMicrosecondsPerOp!.Value));

        var even = Report.Median([R("w", "s", 100, 10, null), R("w", "s", 300, 30, null)]);
        Assert.Equal(200, even.OpsPerSecond);
        Assert.Equal(20, even.P99Microseconds);
        Assert.Null(even.CpuMicrosecondsPerOp); // native: no daemon, no CPU figure
    }

    [Fact]
    public void Per_round_ratios_pair_rows_of_the_same_round_and_the_table_shows_their_range()
    {
        var samples = new Dictionary<(string Workload, string System), List<(int Round, Row Row)>>
        {
            [("w", "libfuse")] = [(1, R("w", "libfuse", 100, 1, 1)), (2, R("w", "libfuse", 200, 1, 1)), (3, R("w", "libfuse", 100, 1, 1))],
            // Round 2 of ring is missing (it failed there): only rounds both ran are paired.
            [("w", "fuselage-ring")] = [(1, R("w", "fuselage-ring", 110, 1, 1)), (3, R("w", "fuselage-ring", 130, 1, 1))],
        };
        var rows = Report.WithRoundRatios(Report.WithRatios([R("w", "libfuse", 100, 1, 1), R("w", "fuselage-ring", 120, 1, 1)]), samples);

        var ring = rows.Single(r => r.System == "fuselage-ring");
        Assert.Equal([1.1, 1.3], ring.OpsVsLibfuseRounds!);
        string table = Report.Markdown(rows);
        Assert.Contains("| w | fuselage-ring | 120 | 1.20× (1.10–1.30) |", table);
        Assert.Contains("| w | libfuse | 100 | 1.00× |", table); // libfuse against itself: no range
    }

    [Fact]
    public void A_chart_of_native_rows_alone_is_drawn()
    {
        string png = Path.Combine(Path.GetTempPath(), $"fuselage-chart-{Guid.NewGuid():N}.png");
        try
        {
            Report.Chart(Report.WithRatios([new Row("randread-4k-qd1-1job", "native", 1000, 50, null)]), png, "native only");
            Assert.True(new FileInfo(png).Length > 0);
        }
        finally { File.Delete(png); }
    }

    [Fact]
    public void Fio_output_is_read_past_its_warnings_with_reads_and_writes_summed()
    {
        const string output = """
            fio: some warning fio prints before its JSON
            {
              "fio version" : "fio-3.33",
              "jobs" : [
                {
                  "jobname" : "bench", "error" : 0,
                  "read" : { "total_ios" : 3000, "iops" : 1000.5, "clat_ns" : { "percentile" : { "50.000000" : 1000, "99.000000" : 250000 } } },
                  "write" : { "total_ios" : 1000, "iops" : 333.5, "clat_ns" : { "percentile" : { "99.000000" : 400000 } } }
                }
              ]
            }
            """;

        var result = FioWorkload.Parse(output);

        Assert.Equal(4000, result.Operations);
        Assert.Equal(1334, result.OpsPerSecond);
        Assert.Equal(400, result.P99Microseconds); // the slower direction's p99, in µs
    }

    [Fact]
    public void Fio_directions_without_ios_count_for_nothing()
    {
        const string output = """
            {"jobs":[{"error":0,
              "read":{"total_ios":0,"iops":0,"clat_ns":{"percentile":{"99.000000":0}}},
              "write":{"total_ios":500,"iops":100,"clat_ns":{"percentile":{"99.000000":2000}}}}]}
            """;

        var result = FioWorkload.Parse(output);

        Assert.Equal((500L, 100.0, 2.0), (result.Operations, result.OpsPerSecond, result.P99Microseconds));
    }

    [Fact]
    public void Workload_filters_keep_names_containing_a_part_and_mark_the_run_partial()
    {
        var all = WorkloadSet.Create(TimeSpan.FromSeconds(1));
        Assert.Equal(all.Count, all.Select(w => w.Name).Distinct().Count()); // rows are keyed by name

        var memdisk = new Selection { Workloads = ["memdisk"] };
        Assert.Equal(["randread-4k-qd16-1job-memdisk"], all.Where(w => memdisk.KeepsWorkload(w.Name)).Select(w => w.Name));
        Assert.True(memdisk.Partial);
        Assert.Equal(" --workloads memdisk", memdisk.Arguments);

        var qd16 = new Selection { Workloads = ["randread-4k-qd16-1job"], Systems = ["libfuse", "fuselage-ring"] };
        Assert.Equal(2, all.Count(w => qd16.KeepsWorkload(w.Name))); // the local-disk and the memdisk one
        Assert.True(qd16.KeepsSystem("fuselage-ring"));
        Assert.False(qd16.KeepsSystem("fuselage")); // systems by exact name
        Assert.False(new Selection().Partial);
    }

    [Fact]
    public void Each_workload_names_the_source_it_runs_over()
    {
        var all = WorkloadSet.Create(TimeSpan.FromSeconds(1));

        Assert.Equal(SourceKind.Tmpfs, all.Single(w => w.Name.StartsWith("metadata")).Source);
        Assert.Equal(SourceKind.MemoryDisk, all.Single(w => w.Name.EndsWith("-memdisk")).Source);
        Assert.All(all.Where(w => w.Name.StartsWith("rand") || w.Name.StartsWith("seq")).Where(w => !w.Name.EndsWith("-memdisk")),
            w => Assert.Equal(SourceKind.LocalDisk, w.Source));
    }
}
