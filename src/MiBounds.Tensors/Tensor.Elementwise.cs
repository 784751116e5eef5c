using System.Numerics.Tensors;

namespace MiBounds.Tensors;

public sealed partial class Tensor
{
    private enum BinaryKind { Add, Sub, Mul, Div }

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Add);
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Sub);
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Mul);
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Binary(a, b, BinaryKind.Div);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => MulScalar(a, -1f);
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, float c) => AddScalar(a, c);
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(float c, Tensor a) => AddScalar(a, c);
    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, float c) => AddScalar(a, -c);
    /// <summary>Constant minus tensor.</summary>
    public static Tensor operator -(float c, Tensor a) => AddScalar(MulScalar(a, -1f), c);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(Tensor a, float c) => MulScalar(a, c);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(float c, Tensor a) => MulScalar(a, c);
    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, float c) => MulScalar(a, 1f / c);
    /// <summary>c / a elementwise (the same values as dividing a tensor filled with c by <paramref name="a"/>).</summary>
    public static Tensor operator /(float c, Tensor a)
    {
        var output = NewOutputOverwritten(a._shape);
        TensorPrimitives.Divide(c, a.Values, output.Data);
        RecordOp(output, ScalarDivideBackward, a); // the backward needs only the output and the input
        return output;
    }

    private static Tensor Binary(Tensor a, Tensor b, BinaryKind kind)
    {
        // The op's name only for Broadcast's error message (Enum.ToString would box on every call).
        int[] shape = a.SameShape(b) ? a._shape : Broadcast.Shape(a._shape, b._shape, kind switch
        {
            BinaryKind.Add => "Add", BinaryKind.Sub => "Sub", BinaryKind.Mul => "Mul", _ => "Div",
        });
        var output = NewOutputOverwritten(shape);
        var o = output.Data;
        bool aFull = a.Size == output.Size, bFull = b.Size == output.Size;
        if (aFull && bFull) ApplySame(a.Values, b.Values, o, kind);
        else if (aFull && b.Size == 1) ApplyScalarRight(a.Values, b._data[0], o, kind);
        else
        {
            // General case: expand both sides, then apply.
            using var ea = aFull ? default : ExpandTo(a, shape);
            using var eb = bFull ? default : ExpandTo(b, shape);
            ApplySame(aFull ? a.Values : ea.Span, bFull ? b.Values : eb.Span, o, kind);
        }
        if (RecordOp(output, BinaryBackward, a, b) is { } node) node.I0 = (int)kind;
        return output;
    }

    private static void BinaryBackward(GradNode node, Tensor g) => BinaryBackward(node[0], node[1], node.Output, g, (BinaryKind)node.I0);

    private static Scratch ExpandTo(Tensor t, int[] shape)
    {
        var buf = new Scratch(ShapeSize(shape));
        Broadcast.Expand(t.Values, t._shape, shape, buf.Span);
        return buf;
    }

    private static void ApplySame(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> o, BinaryKind kind)
    {
        switch (kind)
        {
            case BinaryKind.Add: TensorPrimitives.Add(a, b, o); break;
            case BinaryKind.Sub: TensorPrimitives.Subtract(a, b, o); break;
            case BinaryKind.Mul: TensorPrimitives.Multiply(a, b, o); break;
            default: TensorPrimitives.Divide(a, b, o); break;
        }
    }

    private static void ApplyScalarRight(ReadOnlySpan<float> a, float b, Span<float> o, BinaryKind kind)
    {
        switch (kind)
        {
            case BinaryKind.Add: TensorPrimitives.Add(a, b, o); break;
            case BinaryKind.Sub: TensorPrimitives.Subtract(a, b, o); break;
            case BinaryKind.Mul: TensorPrimitives.Multiply(a, b, o); break;
            default: TensorPrimitives.Divide(a, b, o); break;
        }
    }

    private static void BinaryBackward(Tensor a, Tensor b, Tensor output, Tensor g, BinaryKind kind)
    {
        var gv = g.Values;
        int n = output.Size;
        if (a.RequiresGrad)
        {
            ReadOnlySpan<float> ga = gv;
            using var tmp = kind is BinaryKind.Mul or BinaryKind.Div ? new Scratch(n) : default;
            if (kind is BinaryKind.Mul or BinaryKind.Div)
            {
                using var eb = b.Size == n ? default : ExpandTo(b, output._shape);
                ReadOnlySpan<float> bv = b.Size == n ? b.Values : eb.Span;
                if (kind == BinaryKind.Mul) TensorPrimitives.Multiply(gv, bv, tmp.Span);
                else TensorPrimitives.Divide(gv, bv, tmp.Span);
                ga = tmp.Span;
            }
            if (a.Size == n) AccumulateGrad(a, ga);
            else Broadcast.SumInto(ga, output._shape, a._shape, GradBuffer(a));
        }
        if (b.RequiresGrad)
        {
            using var scratch = new Scratch(n);
            var tmp = scratch.Span;
            switch (kind)
            {
                case BinaryKind.Add: gv.CopyTo(tmp); break;
                case BinaryKind.Sub: TensorPrimitives.Negate(gv, tmp); break;
                case BinaryKind.Mul:
                {
                    using var ea = a.Size == n ? default : ExpandTo(a, output._shape);
                    TensorPrimitives.Multiply(gv, a.Size == n ? a.Values : ea.Span, tmp);
                    break;
                }
                default:
                {
                    // d(a/b)/db = -(a/b)/b = -out/b
                    using var eb = b.Size == n ? default : ExpandTo(b, output._shape);
                    TensorPrimitives.Multiply(gv, output.Values, tmp);
                    TensorPrimitives.Divide(tmp, b.Size == n ? b.Values : eb.Span, tmp);
                    TensorPrimitives.Negate(tmp, tmp);
                    break;
                }
            }
            if (b.Size == n) AccumulateGrad(b, tmp);
            else Broadcast.SumInto(tmp, output._shape, b._shape, GradBuffer(b));
        }
    }

    /// <summary>a + c for a constant c.</summary>
    public static Tensor AddScalar(Tensor a, float c)
    {
        var output = NewOutputOverwritten(a._shape);
        TensorPrimitives.Add(a.Values, c, output.Data);
        RecordOp(output, IdentityBackward, a);
        return output;
    }

    // d out/d a = 1 (a + c, same-size views).
    private static void IdentityBackward(GradNode node, Tensor g) => AccumulateGrad(node[0], g.Values);

    /// <summary>a · c for a constant c.</summary>
    public static Tensor MulScalar(Tensor a, float c)
    {
        var output = NewOutputOverwritten(a._shape);
        TensorPrimitives.Multiply(a.Values, c, output.Data);
        if (RecordOp(output, MulScalarBackward, a) is { } node) node.F0 = c;
        return output;
    }

    // d(c / a)/da = −c / a² = −(c / a) / a: the output divided by the input, negated.
    private static void ScalarDivideBackward(GradNode node, Tensor g)
    {
        var a = node[0];
        using var tmp = new Scratch(a.Size);
        var d = tmp.Span;
        TensorPrimitives.Divide(node.Output.Values, a.Values, d);
        TensorPrimitives.Multiply(d, g.Values, d);
        TensorPrimitives.Negate(d, d);
        AccumulateGrad(a, d);
    }

    private static void MulScalarBackward(GradNode node, Tensor g)
    {
        var a = node[0];
        using var tmp = new Scratch(a.Size);
        TensorPrimitives.Multiply(g.Values, node.F0, tmp.Span);
        AccumulateGrad(a, tmp.Span);
    }

    // ---------- unary ----------

    /// <summary>
    /// Applies a unary function; <paramref name="derivative"/> fills d out/d in from (input, output).
    /// </summary>
    private static Tensor Unary(Tensor a, SpanAction forward, DerivativeAction derivative)
    {
        var output = NewOutputOverwritten(a._shape);
        forward(a.Values, output.Data);
        if (RecordOp(output, UnaryBackward, a) is { } node) node.O0 = derivative;
        return output;
    }

    private static void UnaryBackward(GradNode node, Tensor g)
    {
        var a = node[0];
        using var scratch = new Scratch(a.Size);
        var d = scratch.Span;
        ((DerivativeAction)node.O0!)(a.Values, node.Output.Values, d);
        TensorPrimitives.Multiply(d, g.Values, d);
        AccumulateGrad(a, d);
    }

    private delegate void SpanAction(ReadOnlySpan<float> x, Span<float> y);
    private delegate void DerivativeAction(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d);

    /// <summary>eˣ.</summary>
    public Tensor Exp() => Unary(this, (x, y) => TensorPrimitives.Exp(x, y), (_, y, d) => y.CopyTo(d));

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Unary(this, (x, y) => TensorPrimitives.Log(x, y), (x, _, d) => TensorPrimitives.Reciprocal(x, d));

    /// <summary>log(1 + x), accurate near 0.</summary>
    public Tensor Log1p() => Unary(this,
        (x, y) => { for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Log(1.0 + x[i]); },
        (x, _, d) => { for (int i = 0; i < x.Length; i++) d[i] = 1f / (1f + x[i]); });

    /// <summary>log(1 + eˣ), computed stably.</summary>
    public Tensor Softplus() => Unary(this, SoftplusInto, (x, _, d) => TensorPrimitives.Sigmoid(x, d));

    // max(x, 0) + log(1 + e^{−|x|}): SoftplusScalar's formula in float vectors.
    private static void SoftplusInto(ReadOnlySpan<float> x, Span<float> y)
    {
        x.CopyTo(y);
        ExpMath.LogOnePlusExpNegAbs(y);
        using var relu = new Scratch(x.Length);
        TensorPrimitives.Max(x, 0f, relu.Span);
        TensorPrimitives.Add(y, relu.Span, y);
    }

    /// <summary>Stable log(1 + eˣ) for one value.</summary>
    public static float SoftplusScalar(float x) => MathF.Max(x, 0f) + ExpMath.LogOnePlus(MathF.Exp(-MathF.Abs(x)));

    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Unary(this, (x, y) => TensorPrimitives.Sigmoid(x, y),
        (_, y, d) => { for (int i = 0; i < y.Length; i++) d[i] = y[i] * (1f - y[i]); });

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Unary(this, (x, y) => TensorPrimitives.Tanh(x, y),
        (_, y, d) => { for (int i = 0; i < y.Length; i++) d[i] = 1f - y[i] * y[i]; });

    /// <summary>max(x, 0).</summary>
    public Tensor Relu()
    {
        var output = NewOutputOverwritten(_shape);
        TensorPrimitives.Max(Values, 0f, output.Data);
        RecordOp(output, ReluBackward, this);
        return output;
    }

    // d += (x > 0 ? g : 0) in one vectorized pass (was: a 0/1 mask, a product and an add, three passes); a recorded
    // input's first gradient is written, not added to a zeroed buffer.
    private static void ReluBackward(GradNode node, Tensor g)
    {
        var a = node[0];
        if (!a.RequiresGrad) return;
        bool write = a.Grad is null && a._node is not null;
        Span<float> d;
        if (write) { a.Grad = Pooled(a._shape, clear: false); a.Grad._pooled = true; d = a.Grad.Data; }
        else d = GradBuffer(a);
        ReadOnlySpan<float> x = a.Values, gv = g.Values;
        int i = 0, n = x.Length;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
            ref float pg = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(gv);
            ref float pd = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(d);
            for (; i <= n - 16; i += 16)
            {
                var keep = System.Runtime.Intrinsics.Vector512.GreaterThan(System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref px, (nuint)i), System.Runtime.Intrinsics.Vector512<float>.Zero);
                var masked = System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref pg, (nuint)i) & keep;
                System.Runtime.Intrinsics.Vector512.StoreUnsafe(write ? masked : System.Runtime.Intrinsics.Vector512.LoadUnsafe(ref pd, (nuint)i) + masked, ref pd, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float v = x[i] > 0 ? gv[i] : 0f;
            d[i] = write ? v : d[i] + v;
        }
    }

    /// <summary>x².</summary>
    public Tensor Square() => Unary(this, (x, y) => TensorPrimitives.Multiply(x, x, y),
        (x, _, d) => TensorPrimitives.Multiply(x, 2f, d));

    /// <summary>√x.</summary>
    public Tensor Sqrt() => Unary(this, (x, y) => TensorPrimitives.Sqrt(x, y),
        (_, y, d) => { for (int i = 0; i < y.Length; i++) d[i] = 0.5f / y[i]; });

    /// <summary>|x| (gradient 0 at 0).</summary>
    public Tensor Abs() => Unary(this, (x, y) => TensorPrimitives.Abs(x, y),
        (x, _, d) => { for (int i = 0; i < x.Length; i++) d[i] = MathF.Sign(x[i]); });

    /// <summary>Clamps to [lo, hi]; gradient passes only where the value was inside.</summary>
    public Tensor Clamp(float lo, float hi)
    {
        if (lo > hi) throw new ArgumentException($"Clamp: lo {lo} is above hi {hi}");
        return Unary(this, (x, y) => { TensorPrimitives.Max(x, lo, y); TensorPrimitives.Min(y, hi, y); },
            (x, _, d) => { for (int i = 0; i < x.Length; i++) d[i] = x[i] >= lo && x[i] <= hi ? 1f : 0f; });
    }

    /// <summary>Negation.</summary>
    public Tensor Neg() => MulScalar(this, -1f);

    /// <summary>Elementwise maximum of two same-shape tensors (gradient to the larger; ties to the first).</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        ShapeCheck.Same(a, b, "Maximum");
        var output = NewOutput(a._shape);
        TensorPrimitives.Max(a.Values, b.Values, output.Data);
        RecordOp(output, static (node, g) =>
        {
            Tensor a = node[0], b = node[1];
            using var sa = new Scratch(a.Size, clear: true);
            using var sb = new Scratch(a.Size, clear: true);
            var ga = sa.Span; var gb = sb.Span;
            var av = a.Values; var bv = b.Values; var gv = g.Values;
            for (int i = 0; i < ga.Length; i++) { if (av[i] >= bv[i]) ga[i] = gv[i]; else gb[i] = gv[i]; }
            AccumulateGrad(a, ga);
            AccumulateGrad(b, gb);
        }, a, b);
        return output;
    }

    /// <summary>
    /// log(eᵃ + eᵇ), elementwise with broadcasting, computed stably as max(a, b) + log(1 + e^(−|a−b|)) in one op
    /// (float vectors; the log term lies in [0, log 2], so its rounding is below the result's own).
    /// </summary>
    public static Tensor LogAddExp(Tensor a, Tensor b)
    {
        int[] shape = a.SameShape(b) ? a._shape : Broadcast.Shape(a._shape, b._shape, "LogAddExp");
        var output = NewOutput(shape);
        int n = output.Size;
        {
            using var ea = a.Size == n ? default : ExpandTo(a, shape);
            using var eb = b.Size == n ? default : ExpandTo(b, shape);
            ReadOnlySpan<float> av = a.Size == n ? a.Values : ea.Span, bv = b.Size == n ? b.Values : eb.Span;
            using var scratch = new Scratch(n);
            var t = scratch.Span;
            var o = output.Data;
            TensorPrimitives.Subtract(av, bv, t);
            ExpMath.LogOnePlusExpNegAbs(t);
            TensorPrimitives.Max(av, bv, o);
            TensorPrimitives.Add(o, t, o);
        }
        RecordOp(output, LogAddExpBackward, a, b);
        return output;
    }

    private static void LogAddExpBackward(GradNode node, Tensor g)
    {
        // d/da = e^{a − out}, d/db = e^{b − out} (each ≤ 1).
        Tensor a = node[0], b = node[1], output = node.Output;
        int n = output.Size;
        {
            using var scratch = new Scratch(n);
            var t = scratch.Span;
            foreach (var x in (ReadOnlySpan<Tensor>)[a, b])
            {
                if (!x.RequiresGrad) continue;
                using var ex = x.Size == n ? default : ExpandTo(x, output._shape);
                TensorPrimitives.Subtract(x.Size == n ? x.Values : ex.Span, output.Values, t);
                TensorPrimitives.Exp(t, t);
                TensorPrimitives.Multiply(t, g.Values, t);
                if (x.Size == n) AccumulateGrad(x, t);
                else Broadcast.SumInto(t, output._shape, x._shape, GradBuffer(x));
            }
        }
    }
}

public sealed partial class Tensor
{
    /// <summary>this + other, with broadcasting (the same as the operator).</summary>
    public Tensor Add(Tensor other) => this + other;
    /// <summary>this − other, with broadcasting.</summary>
    public Tensor Sub(Tensor other) => this - other;
    /// <summary>this · other (elementwise), with broadcasting.</summary>
    public Tensor Mul(Tensor other) => this * other;
    /// <summary>this / other (elementwise), with broadcasting.</summary>
    public Tensor Div(Tensor other) => this / other;
}

/// <summary>A pooled scratch buffer of a given length (ArrayPool), returned on Dispose; default is empty.</summary>
internal readonly struct Scratch : IDisposable
{
    private readonly float[]? _array;
    private readonly int _length;

    public Scratch(int length, bool clear = false)
    {
        _array = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(length, 1));
        _length = length;
        if (clear) _array.AsSpan(0, length).Clear();
    }

    public Span<float> Span => _array is null ? default : _array.AsSpan(0, _length);

    public void Dispose()
    {
        if (_array is not null) System.Buffers.ArrayPool<float>.Shared.Return(_array);
    }
}
