using FsdNet.Autodiff;
using FsdNet.Tensors;

namespace FsdNet.Layers;

/// <summary>
/// A building block with named parameters, buffers (state that is saved but not trained, such as BatchNorm's running
/// statistics) and child modules. Names are dotted paths, as in PyTorch's state_dict.
/// </summary>
internal abstract class Module
{
    private readonly List<(string Name, Parameter Value)> parameters = [];
    private readonly List<(string Name, Tensor Value)> buffers = [];
    private readonly List<(string Name, Module Value)> children = [];

    /// <summary>All trainable parameters, this module's first, then each child's in registration order.</summary>
    public IReadOnlyList<Parameter> Parameters() => NamedParameters().Select(p => p.Value).ToList();

    public IEnumerable<(string Name, Parameter Value)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in parameters)
        {
            yield return (prefix + name, p);
        }
        foreach (var (name, child) in children)
        {
            foreach (var item in child.NamedParameters(Join(prefix, name)))
            {
                yield return item;
            }
        }
    }

    /// <summary>Parameters and buffers by name: everything a saved model must hold.</summary>
    public IEnumerable<(string Name, Tensor Value)> State(string prefix = "")
    {
        foreach (var (name, p) in parameters)
        {
            yield return (prefix + name, p);
        }
        foreach (var (name, b) in buffers)
        {
            yield return (prefix + name, b);
        }
        foreach (var (name, child) in children)
        {
            foreach (var item in child.State(Join(prefix, name)))
            {
                yield return item;
            }
        }
    }

    /// <summary>This module and every module below it, depth first in registration order.</summary>
    internal IEnumerable<Module> Modules()
    {
        yield return this;
        foreach (var (_, child) in children)
        {
            foreach (var m in child.Modules())
            {
                yield return m;
            }
        }
    }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount() => NamedParameters().Sum(p => (long)p.Value.Length);

    protected Parameter AddParameter(string name, Shape shape, ParameterKind kind = ParameterKind.Net) => AddParameter(name, new Parameter(name, shape, kind));

    protected Parameter AddParameter(string name, Parameter p)
    {
        parameters.Add((name, p));
        return p;
    }

    protected Tensor AddBuffer(string name, Shape shape)
    {
        var t = new Tensor(shape) { Name = name };
        buffers.Add((name, t));
        return t;
    }

    /// <summary>A child's prefix; a child added with the empty name contributes its names unprefixed (a mixed-in part).</summary>
    private static string Join(string prefix, string name) => name.Length == 0 ? prefix : $"{prefix}{name}.";

    protected T AddChild<T>(string name, T child)
        where T : Module
    {
        children.Add((name, child));
        return child;
    }
}
