using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit;

namespace FsdNet.Tests.Training.CurveParity;

/// <summary>Compares a recorded curve with the mirror's golden curve; the failure lists every difference, first step first.</summary>
public static class CurveAssert
{
    public static void Matches(JsonElement gold, CurveRecord got)
    {
        var errors = new StringBuilder();
        void Fail(string what) => errors.AppendLine(what);
        static string F(double v) => v.ToString("G7", CultureInfo.InvariantCulture);

        var losses = gold.GetProperty("step_loss").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var lossSpread = gold.GetProperty("loss_spread").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        const double K = CurveParityTests.SpreadFactor;
        if (losses.Length != got.StepLoss.Count)
        {
            Fail($"steps: mirror {losses.Length}, FsdNet {got.StepLoss.Count}");
        }
        for (var s = 0; s < Math.Min(losses.Length, got.StepLoss.Count); s++)
        {
            if (Math.Abs(losses[s] - got.StepLoss[s]) > Math.Max(CurveParityTests.LossRel * Math.Abs(losses[s]), K * lossSpread[s]))
            {
                Fail($"step {s + 1} loss: mirror {F(losses[s])}, FsdNet {F(got.StepLoss[s])}");
            }
        }
        var epochs = gold.GetProperty("epochs").EnumerateArray().ToArray();
        if (epochs.Length != got.ValidAuc.Count)
        {
            Fail($"validations: mirror {epochs.Length}, FsdNet {got.ValidAuc.Count}");
        }
        var bestAuc = double.NegativeInfinity;
        var lrComparable = true;
        for (var e = 0; e < Math.Min(epochs.Length, got.ValidAuc.Count); e++)
        {
            var ep = epochs[e];
            var auc = ep.GetProperty("valid_auc").GetDouble();
            var logloss = ep.GetProperty("valid_logloss").GetDouble();
            var lr = ep.GetProperty("lr").GetDouble();
            var aucTol = Math.Max(CurveParityTests.AucAbs, K * ep.GetProperty("auc_spread").GetDouble());
            // Whether the monitor improved decides the learning rate; when the mirror's improvement is within the AUC
            // tolerance, FsdNet may decide the other way, and from then on the learning rates need not agree.
            lrComparable &= Math.Abs(auc - bestAuc) > aucTol || double.IsNegativeInfinity(bestAuc);
            bestAuc = Math.Max(bestAuc, auc);
            if (Math.Abs(auc - got.ValidAuc[e]) > aucTol)
            {
                Fail($"epoch {e + 1} valid AUC: mirror {F(auc)}, FsdNet {F(got.ValidAuc[e])}");
            }
            if (Math.Abs(logloss - got.ValidLogloss[e]) > Math.Max(CurveParityTests.LoglossRel * logloss, K * ep.GetProperty("logloss_spread").GetDouble()))
            {
                Fail($"epoch {e + 1} valid logloss: mirror {F(logloss)}, FsdNet {F(got.ValidLogloss[e])}");
            }
            if (lrComparable && Math.Abs(lr - got.LearningRate[e]) > 1e-9 * lr)
            {
                Fail($"epoch {e + 1} learning rate: mirror {F(lr)}, FsdNet {F(got.LearningRate[e])}");
            }
            var state = got.State[e];
            foreach (var t in ep.GetProperty("state").EnumerateObject())
            {
                if (!state.TryGetValue(t.Name, out var values))
                {
                    Fail($"epoch {e + 1}: FsdNet has no state '{t.Name}'");
                    continue;
                }
                var norm = Math.Sqrt(values.Sum(v => (double)v * v));
                var goldNorm = t.Value.GetProperty("norm").GetDouble();
                if (Math.Abs(norm - goldNorm) > Math.Max((CurveParityTests.NormRel * goldNorm) + 1e-7, K * t.Value.GetProperty("norm_spread").GetDouble()))
                {
                    Fail($"epoch {e + 1} {t.Name}: L2 norm mirror {F(goldNorm)}, FsdNet {F(norm)}");
                }
                var scale = t.Value.GetProperty("max_abs").GetDouble();
                var index = t.Value.GetProperty("index").EnumerateArray().Select(x => x.GetInt32()).ToArray();
                var expected = t.Value.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                // The mirror's own spread over the whole tensor: where a perturbed start moves some coordinates (a unit
                // that dies in one run and not in another), FsdNet's round-off can move others.
                var spread = t.Value.GetProperty("spread").EnumerateArray().Max(x => x.GetDouble());
                var bad = 0;
                for (var k = 0; k < index.Length; k++)
                {
                    var diff = Math.Abs(values[index[k]] - expected[k]);
                    if (diff > Math.Max(CurveParityTests.ValueAbs + (CurveParityTests.ValueRel * scale), K * spread) &&
                        (++bad > 1 || diff > CurveParityTests.OutlierRel * scale))
                    {
                        Fail($"epoch {e + 1} {t.Name}[{index[k]}]: mirror {F(expected[k])}, FsdNet {F(values[index[k]])} (max |value| {F(scale)})");
                    }
                }
            }
        }
        Assert.True(errors.Length == 0, $"{gold.GetProperty("case").GetString()}: FsdNet left the mirror's curve:\n{errors}");
    }
}
