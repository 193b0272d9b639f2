using System.Collections.Concurrent;
using System.Reflection;
using FsdNet.Autodiff;
using FsdNet.Layers;
using FsdNet.Training;

namespace FsdNet.Models;

/// <summary>
/// Marks a property of a model's options record as bound to a config key (FuxiCTR's name) by
/// <see cref="OptionsBinder"/>; a number may have a lower bound.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ConfigKeyAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    /// <summary>The smallest value the key may take (NaN: no bound).</summary>
    public double Min { get; init; } = double.NaN;

    /// <summary>Whether <see cref="Min"/> itself is excluded.</summary>
    public bool MinExclusive { get; init; }
}

/// <summary>
/// How every model reads its keys, in one place: each <see cref="ConfigKeyAttribute"/> property of an options record
/// takes its key's value, parsed by the property's type (numbers with their bounds, booleans, integer lists, an
/// activation or another named choice, the FSD module's settings under <c>fsd</c>), and keeps the record's own
/// default when the config leaves the key out. A value that does not parse is a <see cref="ConfigException"/> naming
/// the file, line and key. A model file declares its keys and defaults; only rules that tie keys together (aliases,
/// keys read only under another's value) are written by hand, after <see cref="Bind{T}"/>.
/// </summary>
internal static class OptionsBinder
{
    /// <summary>The named choices a key may take, each parsed by its layer's own rule.</summary>
    private static readonly Dictionary<Type, Func<string, object>> Choices = new()
    {
        [typeof(Activation)] = s => Activations.Parse(s),
        [typeof(BridgeType)] = s => BridgeModule.Parse(s),
        [typeof(BilinearType)] = s => BilinearInteraction.ParseType(s),
        [typeof(Dcnv2Structure)] = s => Dcnv2Options.ParseStructure(s),
        [typeof(MaskNetType)] = s => MaskNetOptions.ParseType(s),
    };

    private static readonly ConcurrentDictionary<Type, (PropertyInfo Property, ConfigKeyAttribute Key)[]> Bound = new();

    /// <summary>The options of type <typeparamref name="T"/> read from <paramref name="cfg"/>.</summary>
    public static T Bind<T>(ModelConfig cfg)
        where T : new()
    {
        var options = new T();
        foreach (var (p, key) in Bound.GetOrAdd(typeof(T), Properties))
        {
            p.SetValue(options, Read(cfg, key, p.PropertyType, p.GetValue(options)));
        }
        return options;
    }

    private static (PropertyInfo, ConfigKeyAttribute)[] Properties(Type t) =>
        [.. t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p, p.GetCustomAttribute<ConfigKeyAttribute>()))
            .Where(x => x.Item2 is not null)
            .Select(x => (x.p, x.Item2!))];

    private static object? Read(ModelConfig cfg, ConfigKeyAttribute key, Type type, object? fallback)
    {
        var name = key.Name;
        double? min = double.IsNaN(key.Min) ? null : key.Min;
        if (type == typeof(int))
        {
            return cfg.GetInt(name, (int)fallback!, min is { } m ? (int)m : null);
        }
        if (type == typeof(double))
        {
            return cfg.GetDouble(name, (double)fallback!, min, key.MinExclusive);
        }
        if (type == typeof(float))
        {
            return (float)cfg.GetDouble(name, (float)fallback!, min, key.MinExclusive);
        }
        if (type == typeof(bool))
        {
            return cfg.GetBool(name, (bool)fallback!);
        }
        if (type == typeof(IReadOnlyList<int>))
        {
            return cfg.GetIntList(name, (IReadOnlyList<int>)fallback!);
        }
        if (type == typeof(FsdOptions))
        {
            return FsdOptions.FromIfOn(cfg);
        }
        if (Choices.TryGetValue(type, out var parse))
        {
            if (cfg.GetString(name) is not { } text)
            {
                return fallback;
            }
            try
            {
                return parse(text);
            }
            catch (ArgumentException e)
            {
                throw new ConfigException($"{cfg.Origin(name)}: {e.Message}");
            }
        }
        throw new InvalidOperationException($"options key '{name}': no rule binds a {type.Name}.");
    }
}
