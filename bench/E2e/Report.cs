using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fuselage.Bench.E2e;

/// <summary>
/// One system on one workload. CPU per operation is null for native (no daemon). The five measured fields are in
/// every JSON row, null or not; the ratios only where they exist.
/// </summary>
public sealed record Row(
    [property: JsonPropertyName("workload")] string Workload,
    [property: JsonPropertyName("system")] string System,
    [property: JsonPropertyName("ops_per_s")] double OpsPerSecond,
    [property: JsonPropertyName("p99_us")] double P99Microseconds,
    [property: JsonPropertyName("cpu_us_per_op"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? CpuMicrosecondsPerOp)
{
    [JsonPropertyName("ops_vs_libfuse")] public double? OpsVsLibfuse { get; init; }
    [JsonPropertyName("ops_vs_native")] public double? OpsVsNative { get; init; }
    [JsonPropertyName("p99_vs_libfuse")] public double? P99VsLibfuse { get; init; }
    [JsonPropertyName("cpu_vs_libfuse")] public double? CpuVsLibfuse { get; init; }
    /// <summary>ops/s ÷ libfuse's ops/s of the same round, per round both ran: how far the median ratio can be trusted.</summary>
    [JsonPropertyName("ops_vs_libfuse_rounds")] public double[]? OpsVsLibfuseRounds { get; init; }
    /// <summary>ops/s in each round, by round (null where it did not run): any two systems compare round by round.</summary>
    [JsonPropertyName("ops_per_s_rounds")] public double?[]? OpsPerSecondRounds { get; init; }
    /// <summary>Wake-ups of the <see cref="HostStallProbe"/> later than <see cref="StallCounter.Threshold"/> while the workload ran: the VM not running.</summary>
    [JsonPropertyName("host_stalls")] public double? HostStalls { get; init; }
    /// <summary>Their lateness summed, in ms: a lower bound of the time the VM lost while the workload ran.</summary>
    [JsonPropertyName("host_stall_ms")] public double? HostStallMilliseconds { get; init; }
}

/// <summary>What a run was: how it was made and on what. The JSON's <c>run</c> object, read back by <c>e2e --report</c>.</summary>
public sealed record RunInfo(
    [property: JsonPropertyName("command")] string Command,
    [property: JsonPropertyName("date")] string Date,
    [property: JsonPropertyName("fio_seconds_per_job")] double FioSecondsPerJob,
    [property: JsonPropertyName("rounds")] int Rounds,
    [property: JsonPropertyName("machine")] Dictionary<string, string> Machine,
    [property: JsonPropertyName("systems")] Dictionary<string, string> Systems,
    [property: JsonPropertyName("notes")] List<string> Notes);

/// <summary>The run's table (console and markdown), its JSON and its chart; every number sits next to its ratios to libfuse and native.</summary>
public static class Report
{
    public const string Baseline = "libfuse", Native = "native";

    /// <summary>The median of each figure over the rounds.</summary>
    public static Row Median(IReadOnlyList<Row> rounds)
    {
        static double Mid(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
        static double? MidOf(IEnumerable<double?> values, int digits)
        {
            var present = values.Where(v => v is not null).Select(v => v!.Value).ToList();
            return present.Count > 0 ? Math.Round(Mid(present), digits) : null;
        }
        return new Row(rounds[0].Workload, rounds[0].System, Math.Round(Mid(rounds.Select(r => r.OpsPerSecond)), 1),
            Math.Round(Mid(rounds.Select(r => r.P99Microseconds)), 1), MidOf(rounds.Select(r => r.CpuMicrosecondsPerOp), 2))
        {
            HostStalls = MidOf(rounds.Select(r => r.HostStalls), 1),
            HostStallMilliseconds = MidOf(rounds.Select(r => r.HostStallMilliseconds), 0),
        };
    }

    /// <summary>Fills each row's ratios from the libfuse and native rows of the same workload in the same run.</summary>
    public static List<Row> WithRatios(IReadOnlyList<Row> rows) => rows.Select(r =>
    {
        var lib = rows.FirstOrDefault(x => x.Workload == r.Workload && x.System == Baseline);
        var native = rows.FirstOrDefault(x => x.Workload == r.Workload && x.System == Native);
        return r with
        {
            OpsVsLibfuse = Ratio(r.OpsPerSecond, lib?.OpsPerSecond),
            OpsVsNative = Ratio(r.OpsPerSecond, native?.OpsPerSecond),
            P99VsLibfuse = Ratio(r.P99Microseconds, lib?.P99Microseconds),
            CpuVsLibfuse = Ratio(r.CpuMicrosecondsPerOp, lib?.CpuMicrosecondsPerOp),
        };
    }).ToList();

    /// <summary>
    /// Adds each row's ops/s round by round, and its ratio to libfuse's of the same round (each round measures every
    /// system within a minute).
    /// </summary>
    public static List<Row> WithRoundRatios(IReadOnlyList<Row> rows, IReadOnlyDictionary<(string Workload, string System), List<(int Round, Row Row)>> samples)
    {
        int rounds = samples.Values.SelectMany(list => list).Select(s => s.Round).DefaultIfEmpty(0).Max();
        var withRounds = rows.Select(r =>
        {
            if (!samples.TryGetValue((r.Workload, r.System), out var own)) return r;
            var opsByRound = new double?[rounds];
            foreach (var (round, row) in own) opsByRound[round - 1] = row.OpsPerSecond;
            return r with { OpsPerSecondRounds = opsByRound };
        }).ToList();
        return withRounds.Select(r =>
            withRounds.FirstOrDefault(x => x.Workload == r.Workload && x.System == Baseline) is { } lib
                ? r with { OpsVsLibfuseRounds = RoundRatios(r, lib) }
                : r).ToList();
    }

    /// <summary><paramref name="row"/>'s ops/s ÷ <paramref name="baseline"/>'s, in each round both ran; null for fewer than two.</summary>
    public static double[]? RoundRatios(Row row, Row baseline)
    {
        if (row.OpsPerSecondRounds is not { } own || baseline.OpsPerSecondRounds is not { } other) return null;
        var ratios = own.Zip(other).Where(p => p.First is not null && p.Second is > 0)
            .Select(p => Math.Round(p.First!.Value / p.Second!.Value, 3)).ToArray();
        return ratios.Length > 1 ? ratios : null;
    }

    private static double? Ratio(double? value, double? baseline) =>
        value is { } v && baseline is { } b && b > 0 ? Math.Round(v / b, 3) : null;

    public static string Markdown(IReadOnlyList<Row> rows)
    {
        var sb = new StringBuilder();
        // Results written before the probe existed have no stall figures: their table keeps its nine columns.
        bool stalls = HasHostStalls(rows);
        sb.AppendLine("| workload | system | ops/s | × libfuse | × native | p99 µs | p99 × libfuse | daemon CPU µs/op | CPU × libfuse |" + (stalls ? " host stalls (ms) |" : ""));
        sb.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|" + (stalls ? "--:|" : ""));
        foreach (var r in rows)
            sb.AppendLine($"| {r.Workload} | {r.System} | {F(r.OpsPerSecond, "N0")} | {X(r.OpsVsLibfuse)}{Range(r.OpsVsLibfuseRounds)} | {X(r.OpsVsNative)} | {F(r.P99Microseconds, "N0")} | {X(r.P99VsLibfuse)} | {F(r.CpuMicrosecondsPerOp, "N1")} | {X(r.CpuVsLibfuse)} |"
                + (stalls ? $" {Stalls(r)} |" : ""));
        return sb.ToString();
    }

    /// <summary>False for results written before the runner counted host stalls.</summary>
    public static bool HasHostStalls(IReadOnlyList<Row> rows) => rows.Any(r => r.HostStalls is not null);

    /// <summary>"17 (210)": the probe's late wake-ups and the ms they add up to; "0" for none.</summary>
    internal static string Stalls(Row r) => r.HostStalls switch
    {
        null => "–",
        0 => "0",
        { } n => string.Create(CultureInfo.InvariantCulture, $"{n:0.#} ({r.HostStallMilliseconds ?? 0:N0})"),
    };

    private static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
    /// <summary>" (lowest–highest)" of the per-round ratios; nothing for one round or for libfuse against itself.</summary>
    internal static string Range(double[]? perRound) =>
        perRound is { Length: > 1 } v && v.Min() != v.Max()
            ? string.Create(CultureInfo.InvariantCulture, $" ({v.Min():0.00}–{v.Max():0.00})")
            : "";

    private static string X(double? v) => v is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "–";

    public static string Json(IReadOnlyList<Row> rows, IReadOnlyList<Verdict> targets, RunInfo run) =>
        JsonSerializer.Serialize(new { run, rows, targets }, new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull });

    /// <summary>The rows and the run of a results JSON written by <see cref="Json"/>; a field the run lacks reads as empty.</summary>
    public static (List<Row> Rows, RunInfo Run) ReadJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var run = doc.RootElement.GetProperty("run").Deserialize<RunInfo>()!;
        run = run with
        {
            Command = run.Command ?? "", Date = run.Date ?? "",
            Machine = run.Machine ?? [], Systems = run.Systems ?? [], Notes = run.Notes ?? [],
        };
        return (doc.RootElement.GetProperty("rows").Deserialize<List<Row>>()!, run);
    }

    /// <summary>
    /// Grouped bars of ops/s relative to libfuse (1.0 = libfuse), one group per workload. The axis ends a little above
    /// the highest FUSE system; a taller bar (native metadata, some twenty times libfuse) is cut there and labelled.
    /// </summary>
    public static void Chart(IReadOnlyList<Row> rows, string pngPath, string subtitle)
    {
        var workloads = rows.Select(r => r.Workload).Distinct().ToList();
        var systems = rows.Select(r => r.System).Distinct().ToList();
        double top = 1.15 * Math.Max(2, rows.Where(r => r.System != "native").Select(r => r.OpsVsLibfuse ?? 0).DefaultIfEmpty(0).Max());
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<ScottPlot.Bar>();
        int groupWidth = systems.Count + 1;
        for (int s = 0; s < systems.Count; s++)
        {
            var color = palette.GetColor(s);
            for (int w = 0; w < workloads.Count; w++)
            {
                var row = rows.FirstOrDefault(r => r.Workload == workloads[w] && r.System == systems[s]);
                if (row?.OpsVsLibfuse is not { } ratio) continue;
                double position = w * groupWidth + s;
                bars.Add(new ScottPlot.Bar { Position = position, Value = Math.Min(ratio, top), FillColor = color, LineWidth = 0 });
                if (ratio > top)
                {
                    var label = plot.Add.Text(ratio.ToString("0.0", CultureInfo.InvariantCulture) + "× ↑", position, top);
                    label.LabelAlignment = ScottPlot.Alignment.LowerCenter;
                    label.LabelFontSize = 12;
                }
            }
            plot.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = systems[s], FillColor = color });
        }
        plot.Add.Bars(bars);
        var oneLine = plot.Add.HorizontalLine(1.0);
        oneLine.LineColor = ScottPlot.Colors.Black;
        oneLine.LinePattern = ScottPlot.LinePattern.Dashed;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int w = 0; w < workloads.Count; w++) ticks.AddMajor(w * groupWidth + (systems.Count - 1) / 2.0, workloads[w]);
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 150;
        plot.Axes.Margins(bottom: 0);
        plot.Axes.SetLimitsY(0, top * 1.08);
        plot.Title($"ops/s relative to libfuse passthrough_ll (same run)\n{subtitle}");
        plot.YLabel("ops/s ÷ libfuse ops/s");
        plot.ShowLegend(ScottPlot.Edge.Right);
        plot.SavePng(pngPath, 1400, 700);
    }
}
