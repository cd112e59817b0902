using System.Text.Json;
using Fuselage.Bench.E2e;

namespace Fuselage.Tests.Bench;

/// <summary>The e2e runner's arithmetic and outputs: ratios, medians, per-round ranges, the JSON rows, fio's output.</summary>
public class E2eReportTests
{
    private static Row R(string workload, string system, double ops, double p99, double? cpu) => new(workload, system, ops, p99, cpu);
    private static RunInfo Run(string command) => new(command, "2026-11-27", 7, 3, new() { ["cpus"] = "2" }, new() { ["libfuse"] = "passthrough_ll" }, ["a note"]);

    [Fact]
    public void Every_json_row_carries_the_five_measured_fields_even_when_one_is_null()
    {
        var rows = Report.WithRatios([R("w", "native", 200, 10, null), R("w", "libfuse", 100, 40, 20), R("w", "fuselage-ring", 150, 20, 10)]);

        using var doc = JsonDocument.Parse(Report.Json(rows, Targets.Judge(rows), Run("test")));

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
    public void Targets_are_judged_on_the_rows_of_the_run_and_a_target_without_its_rows_is_left_out()
    {
        const string qd16 = "randread-4k-qd16-1job", qd1 = "randread-4k-qd1-1job", write = "randwrite-4k-qd16-1job";
        var rows = Report.WithRatios(
        [
            R(qd16, "native", 500, 1, null), R(qd16, "libfuse", 100, 1, 20), R(qd16, Targets.Ring, 125, 1, 16), R(qd16, Targets.Uring, 120, 1, 10),
            R(qd1, "libfuse", 100, 1, 40), R(qd1, Targets.Ring, 110, 1, 33), R(qd1, Targets.Uring, 121, 1, 30),
            // No libfuse row (its O_DIRECT writes fail): no ring ratio to judge, but uring against ring still is.
            R(write, Targets.Ring, 100, 1, 10), R(write, Targets.Uring, 100, 1, 9),
            // No metadata rows at all (a filtered run): its target is not judged.
        ]);

        var verdicts = Targets.Judge(rows);

        Assert.Equal(
        [
            ("ring ops/s ≥ 1.25× libfuse", qd16, 1.25, true), // the threshold itself meets it
            ("ring daemon CPU/op ≤ 0.8× libfuse", qd16, 0.8, true),
            ("ring daemon CPU/op ≤ 0.8× libfuse", qd1, 0.825, false),
            ("uring ops/s ahead of ring (> 1.00×)", qd16, 0.96, false),
            ("uring ops/s ahead of ring (> 1.00×)", qd1, 1.1, true),
            ("uring ops/s ahead of ring (> 1.00×)", write, 1.0, false), // level is not ahead
        ], verdicts.Select(v => (v.Target, v.Workload, v.Ratio, v.Met)));
        Assert.DoesNotContain(verdicts, v => v.Workload == WorkloadSet.MetadataName);
        Assert.Contains(WorkloadSet.MetadataName, Targets.OpsWorkloads);
        Assert.Contains(WorkloadSet.Create(TimeSpan.FromSeconds(1)), w => w.Name == WorkloadSet.MetadataName);
        Assert.Contains(WorkloadSet.Create(TimeSpan.FromSeconds(1)), w => w.Name == qd16);
    }

    [Fact]
    public void The_targets_table_counts_the_ones_met_and_shows_the_round_range_of_an_ops_target()
    {
        var samples = new Dictionary<(string Workload, string System), List<(int Round, Row Row)>>
        {
            [(WorkloadSet.MetadataName, "libfuse")] = [(1, R(WorkloadSet.MetadataName, "libfuse", 100, 1, 1)), (2, R(WorkloadSet.MetadataName, "libfuse", 100, 1, 1))],
            [(WorkloadSet.MetadataName, Targets.Ring)] = [(1, R(WorkloadSet.MetadataName, Targets.Ring, 110, 1, 1)), (2, R(WorkloadSet.MetadataName, Targets.Ring, 140, 1, 1))],
        };
        var rows = Report.WithRoundRatios(Report.WithRatios(
            [R(WorkloadSet.MetadataName, "libfuse", 100, 1, 50), R(WorkloadSet.MetadataName, Targets.Ring, 120, 1, 25)]), samples);
        var verdicts = Targets.Judge(rows);

        string table = Targets.Markdown(verdicts);

        Assert.StartsWith("1 of 2 met.", table);
        Assert.Contains($"| ring ops/s ≥ 1.25× libfuse | {WorkloadSet.MetadataName} | 1.20× (1.10–1.40) | **no** |", table);
        Assert.Contains($"| ring daemon CPU/op ≤ 0.8× libfuse | {WorkloadSet.MetadataName} | 0.50× | yes |", table);
        Assert.Equal("", Targets.Markdown([]));

        using var doc = JsonDocument.Parse(Report.Json(rows, verdicts, Run("test")));
        var first = doc.RootElement.GetProperty("targets")[0];
        Assert.Equal((1.2, false), (first.GetProperty("ratio").GetDouble(), first.GetProperty("met").GetBoolean()));
        Assert.Equal(2, first.GetProperty("rounds").GetArrayLength());
    }

    [Fact]
    public void The_uring_verdict_shows_its_ratio_to_ring_round_by_round_over_the_rounds_both_ran()
    {
        const string write = "seqwrite-1m-qd4-1job";
        var samples = new Dictionary<(string Workload, string System), List<(int Round, Row Row)>>
        {
            [(write, Targets.Ring)] = [(1, R(write, Targets.Ring, 100, 1, 1)), (2, R(write, Targets.Ring, 200, 1, 1)), (3, R(write, Targets.Ring, 100, 1, 1))],
            // uring failed to run in round 2: that round compares nothing.
            [(write, Targets.Uring)] = [(1, R(write, Targets.Uring, 91, 1, 1)), (3, R(write, Targets.Uring, 97, 1, 1))],
        };
        var rows = Report.WithRoundRatios(Report.WithRatios([R(write, Targets.Ring, 100, 1, 1), R(write, Targets.Uring, 94, 1, 1)]), samples);

        var verdict = Assert.Single(Targets.Judge(rows));

        Assert.Equal([100, 200, 100], rows[0].OpsPerSecondRounds!);
        Assert.Equal([91, null, 97], rows[1].OpsPerSecondRounds!);
        Assert.Null(rows[1].OpsVsLibfuseRounds); // no libfuse row: no ratio to it
        Assert.Equal([0.91, 0.97], verdict.Rounds!);
        Assert.Contains($"| uring ops/s ahead of ring (> 1.00×) | {write} | 0.94× (0.91–0.97) | **no** |", Targets.Markdown([verdict]));
        var (readBack, _) = Report.ReadJson(Report.Json(rows, [verdict], Run("test")));
        Assert.Equal([91, null, 97], readBack[1].OpsPerSecondRounds!);
        Assert.Equal([0.91, 0.97], Targets.Judge(readBack).Single().Rounds!); // e2e --report judges the same
    }

    [Fact]
    public void A_ratio_that_rounds_to_its_bound_shows_a_third_digit()
    {
        var rows = Report.WithRatios([R("w", Targets.Ring, 1000, 1, null), R("w", Targets.Uring, 1003, 1, null), R("v", Targets.Ring, 1000, 1, null), R("v", Targets.Uring, 998, 1, null)]);

        string table = Targets.Markdown(Targets.Judge(rows));

        Assert.Contains("| uring ops/s ahead of ring (> 1.00×) | w | 1.003× | yes |", table);
        Assert.Contains("| uring ops/s ahead of ring (> 1.00×) | v | 0.998× | **no** |", table);
    }

    [Fact]
    public void A_results_json_reads_back_into_the_rows_and_the_run_it_was_written_from()
    {
        var samples = new Dictionary<(string Workload, string System), List<(int Round, Row Row)>>
        {
            [("w", "libfuse")] = [(1, R("w", "libfuse", 100, 1, 1)), (2, R("w", "libfuse", 100, 1, 1))],
            [("w", Targets.Ring)] = [(1, R("w", Targets.Ring, 90, 1, 1)), (2, R("w", Targets.Ring, 130, 1, 1))],
        };
        var rows = Report.WithRoundRatios(Report.WithRatios(
            [R("w", "native", 300, 5, null), R("w", "libfuse", 100, 40, 20), R("w", Targets.Ring, 110, 20, 10)]), samples);
        var run = Run("dotnet run -c Release --project bench -- e2e");

        var (readRows, readRun) = Report.ReadJson(Report.Json(rows, Targets.Judge(rows), run));

        Assert.Equal(rows.Count, readRows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            // Arrays compare by reference in a record's equality: compared apart, by content.
            Assert.Equal(rows[i] with { OpsVsLibfuseRounds = null, OpsPerSecondRounds = null }, readRows[i] with { OpsVsLibfuseRounds = null, OpsPerSecondRounds = null });
            Assert.Equal(rows[i].OpsVsLibfuseRounds, readRows[i].OpsVsLibfuseRounds);
            Assert.Equal(rows[i].OpsPerSecondRounds, readRows[i].OpsPerSecondRounds);
        }
        Assert.Equal((run.Command, run.Date, run.FioSecondsPerJob, run.Rounds), (readRun.Command, readRun.Date, readRun.FioSecondsPerJob, readRun.Rounds));
        Assert.Equal(run.Machine, readRun.Machine);
        Assert.Equal(run.Systems, readRun.Systems);
        Assert.Equal(run.Notes, readRun.Notes);
    }

    [Fact]
    public void A_results_json_whose_run_lacks_fields_reads_them_as_empty()
    {
        const string json = """{"run":{"rounds":1,"fio_seconds_per_job":5},"rows":[{"workload":"w","system":"native","ops_per_s":1,"p99_us":2,"cpu_us_per_op":null}]}""";

        var (rows, run) = Report.ReadJson(json);

        Assert.Single(rows);
        Assert.Equal(("", "", 1, 5.0), (run.Command, run.Date, run.Rounds, run.FioSecondsPerJob));
        Assert.Empty(run.Machine);
        Assert.Empty(run.Systems);
        Assert.Empty(run.Notes);
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
    public void Extra_workloads_run_only_when_named_whole()
    {
        var extras = WorkloadSet.Extras(TimeSpan.FromSeconds(1)).Select(w => w.Name).ToList();
        Assert.Equal(["randrw-4k-qd16-1job", "randwrite-4k-psync-4jobs"], extras);
        Assert.DoesNotContain(WorkloadSet.Create(TimeSpan.FromSeconds(1)), w => extras.Contains(w.Name));

        Assert.DoesNotContain(extras, new Selection().NamesExtra); // not in a full run
        Assert.DoesNotContain(extras, new Selection { Workloads = ["randwrite", "randrw"] }.NamesExtra); // parts keep only the usual set
        Assert.Equal(["randwrite-4k-psync-4jobs"], extras.Where(new Selection { Workloads = ["randwrite-4k-psync-4jobs"] }.NamesExtra));
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
