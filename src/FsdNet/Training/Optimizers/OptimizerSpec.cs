using System.Globalization;
using FsdNet.Autodiff;
using FsdNet.Data;

namespace FsdNet.Training;

/// <summary>
/// Which optimizer to build, chosen by name as FuxiCTR's get_optimizer does (adam, adamw, sgd, adagrad, rmsprop, any
/// case), with torch.optim's defaults. FuxiCTR passes only the learning rate; FsdNet also reads an optional
/// <c>optimizer_params</c> mapping with torch's argument names (e.g. <c>{momentum: 0.9, nesterov: true}</c>).
/// </summary>
public sealed record OptimizerSpec
{
    private static readonly Dictionary<string, (string Name, string[] Params)> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["adam"] = ("Adam", ["betas", "eps"]),
        ["adamw"] = ("AdamW", ["betas", "eps", "weight_decay"]),
        ["sgd"] = ("SGD", ["momentum", "dampening", "nesterov", "weight_decay"]),
        ["adagrad"] = ("Adagrad", ["lr_decay", "weight_decay", "initial_accumulator_value", "eps"]),
        ["rmsprop"] = ("RMSprop", ["alpha", "eps", "weight_decay", "momentum", "centered"]),
    };

    /// <summary>The torch.optim class name: Adam, AdamW, SGD, Adagrad or RMSprop.</summary>
    public string Name { get; init; } = "Adam";

    /// <summary>Arguments given in <c>optimizer_params</c> (torch names; betas as beta1/beta2); absent ones take torch's defaults.</summary>
    public IReadOnlyDictionary<string, double> Params { get; init; } = new Dictionary<string, double>();

    /// <summary>Reads <c>optimizer</c> and <c>optimizer_params</c>.</summary>
    public static OptimizerSpec From(ModelConfig cfg)
    {
        var name = cfg.GetString("optimizer") ?? "adam";
        if (!Known.TryGetValue(name.Trim(), out var known))
        {
            throw new ConfigException(
                $"{cfg.Origin("optimizer")}: 'optimizer' must be one of adam, adamw, sgd, adagrad, rmsprop (torch.optim's names, any case); got '{name}'.");
        }
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, items) in cfg.GetMapping("optimizer_params"))
        {
            var where = $"{cfg.Origin("optimizer_params")}: optimizer_params.{key}";
            if (!known.Params.Contains(key))
            {
                throw new ConfigException($"{where}: {known.Name} takes {string.Join(", ", known.Params)} (besides the learning rate); not '{key}'.");
            }
            if (key == "betas")
            {
                if (items.Count != 2)
                {
                    throw new ConfigException($"{where}: must be two numbers like [0.9, 0.999].");
                }
                values["beta1"] = Number(items[0], where);
                values["beta2"] = Number(items[1], where);
            }
            else if (items.Count != 1)
            {
                throw new ConfigException($"{where}: must be a single value.");
            }
            else if (key is "nesterov" or "centered")
            {
                values[key] = ModelConfig.ParseBool(items[0]) is { } b ? (b ? 1 : 0) : throw new ConfigException($"{where}: must be true or false, got '{items[0]}'.");
            }
            else
            {
                values[key] = Number(items[0], where);
            }
        }
        var spec = new OptimizerSpec { Name = known.Name, Params = values };
        try
        {
            spec.Create([], 1e-3);   // torch's argument checks, reported against the config
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ConfigException($"{cfg.Origin("optimizer_params")}: optimizer_params for {known.Name}: {e.Message.Split('\n')[0].Split(" (Parameter")[0]}, got {Convert.ToString(e.ActualValue, CultureInfo.InvariantCulture)}.");
        }
        return spec;
    }

    /// <summary>Builds the optimizer over <paramref name="parameters"/>.</summary>
    internal Optimizer Create(IEnumerable<Parameter> parameters, double learningRate)
    {
        double P(string key, double fallback) => Params.TryGetValue(key, out var v) ? v : fallback;
        return Name switch
        {
            "Adam" => new Adam(parameters, learningRate, P("beta1", 0.9), P("beta2", 0.999), P("eps", 1e-8)),
            "AdamW" => new AdamW(parameters, learningRate, P("beta1", 0.9), P("beta2", 0.999), P("eps", 1e-8), P("weight_decay", 0.01)),
            "SGD" => new Sgd(parameters, learningRate, P("momentum", 0), P("dampening", 0), P("nesterov", 0) != 0, P("weight_decay", 0)),
            "Adagrad" => new Adagrad(parameters, learningRate, P("lr_decay", 0), P("weight_decay", 0), P("initial_accumulator_value", 0), P("eps", 1e-10)),
            "RMSprop" => new RmsProp(parameters, learningRate, P("alpha", 0.99), P("eps", 1e-8), P("weight_decay", 0), P("momentum", 0), P("centered", 0) != 0),
            _ => throw new ConfigException($"unknown optimizer '{Name}'"),
        };
    }

    /// <summary>The spec as text for logs: <c>SGD(momentum=0.9)</c>.</summary>
    public override string ToString() =>
        $"{Name}({string.Join(", ", Params.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:G}")))})";

    private static double Number(string text, string where) =>
        DatasetConfigLoader.ParseNumber(text) is { } d && double.IsFinite(d) ? d : throw new ConfigException($"{where}: must be a number, got '{text}'.");
}
