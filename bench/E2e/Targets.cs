using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Fuselage.Bench.E2e;

/// <summary>One target judged on one workload of a run: the measured ratio, the target's bound and whether it is met.</summary>
public sealed record Verdict(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("workload")] string Workload,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("bound")] double Bound,
    [property: JsonPropertyName("met")] bool Met)
{
    /// <summary>The ratio round by round (the ops/s targets only), to show how far the median can be trusted.</summary>
    [JsonPropertyName("rounds")] public double[]? Rounds { get; init; }
}

/// <summary>
/// The project's performance targets, judged on the rows of one run so that every run says which it meets:
/// <c>ring</c> at least 1.25× libfuse's ops/s on 4k random reads at QD16 and on the metadata workload, the ring
/// daemon's CPU per operation at most 0.8× libfuse's, and <c>uring</c> ahead of <c>ring</c>. A target whose rows
/// the run lacks (a filtered run, a system that failed) is left out, not judged.
/// </summary>
public static class Targets
{
    public const string Ring = "fuselage-ring", Uring = "fuselage-uring";
    public const double OpsVsLibfuse = 1.25, CpuVsLibfuse = 0.8;
    /// <summary>The workloads the ops/s target names: 4k O_DIRECT random reads at QD16 with one job, and metadata.</summary>
    public static readonly string[] OpsWorkloads = ["randread-4k-qd16-1job", WorkloadSet.MetadataName];

    public static List<Verdict> Judge(IReadOnlyList<Row> rows)
    {
        var verdicts = new List<Verdict>();
        Row? Find(string workload, string system) => rows.FirstOrDefault(r => r.Workload == workload && r.System == system);

        foreach (string workload in OpsWorkloads)
            if (Find(workload, Ring)?.OpsVsLibfuse is { } ratio)
                verdicts.Add(new Verdict($"ring ops/s ≥ {OpsVsLibfuse:0.00}× libfuse", workload, ratio, OpsVsLibfuse, ratio >= OpsVsLibfuse)
                {
                    Rounds = Find(workload, Ring)!.OpsVsLibfuseRounds,
                });

        foreach (var ring in rows.Where(r => r.System == Ring && r.CpuVsLibfuse is not null))
            verdicts.Add(new Verdict($"ring daemon CPU/op ≤ {CpuVsLibfuse:0.0}× libfuse", ring.Workload, ring.CpuVsLibfuse!.Value,
                CpuVsLibfuse, ring.CpuVsLibfuse <= CpuVsLibfuse));

        foreach (var uring in rows.Where(r => r.System == Uring))
            if (Find(uring.Workload, Ring) is { OpsPerSecond: > 0 } ring)
            {
                double ratio = Math.Round(uring.OpsPerSecond / ring.OpsPerSecond, 3);
                verdicts.Add(new Verdict("uring ops/s ahead of ring (> 1.00×)", uring.Workload, ratio, 1, ratio > 1)
                {
                    Rounds = Report.RoundRatios(uring, ring),
                });
            }
        return verdicts;
    }

    /// <summary>A markdown table of the verdicts, with a count of the ones met; empty when there are none.</summary>
    public static string Markdown(IReadOnlyList<Verdict> verdicts)
    {
        if (verdicts.Count == 0) return "";
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{verdicts.Count(v => v.Met)} of {verdicts.Count} met.");
        sb.AppendLine();
        sb.AppendLine("| target | workload | this run | met |");
        sb.AppendLine("|---|---|--:|:-:|");
        foreach (var v in verdicts)
        {
            // A ratio that rounds to its bound shows one more digit, or "1.00×" could read as met and as missed.
            string ratio = v.Ratio.ToString(Math.Round(v.Ratio, 2) == v.Bound ? "0.000" : "0.00", CultureInfo.InvariantCulture);
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {v.Target} | {v.Workload} | {ratio}×{Report.Range(v.Rounds)} | {(v.Met ? "yes" : "**no**")} |");
        }
        return sb.ToString();
    }
}
