using MiBounds.Tensors;
using MiBounds.Tensors.Nn;
using MiBounds.Tensors.Optim;
using Xunit;

namespace MiBounds.Tensors.Tests;

public sealed class FreezeParametersTests
{
    private static (Mlp Model, Tensor X) Setup()
    {
        var rng = new Rng(9);
        return (new Mlp(6, 16, 3, 2, rng), Tensor.RandomNormal(rng, [5, 6]));
    }

    private static Tensor InputGradient(Mlp model, Tensor x)
    {
        var input = x.Clone();
        input.RequiresGrad = true;
        model.Forward(input).Square().Sum().Backward();
        return input.Grad!;
    }

    [Fact]
    public void FrozenBackwardGivesTheSameInputGradientAndLeavesParameterGradientsAlone()
    {
        var (model, x) = Setup();
        var expected = InputGradient(model, x).Values.ToArray();
        foreach (var p in model.Parameters()) p.Grad = null;

        Tensor frozenGrad;
        using (model.FreezeParameters())
        {
            Assert.All(model.Parameters(), p => Assert.False(p.RequiresGrad));
            frozenGrad = InputGradient(model, x);
        }
        Assert.Equal(expected, frozenGrad.Values.ToArray());
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad)); // no weight product ran
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void AParameterFrozenBeforeStaysFrozenAndOptimizersRefuseFrozenParameters()
    {
        var (model, _) = Setup();
        var first = model.Parameters().First();
        first.RequiresGrad = false;
        using (model.FreezeParameters())
        {
            Assert.Throws<ArgumentException>(() => new Adam(model.Parameters()));
            using (model.FreezeParameters()) { } // nested: restores nothing
            Assert.All(model.Parameters(), p => Assert.False(p.RequiresGrad));
        }
        Assert.False(first.RequiresGrad);
        Assert.All(model.Parameters().Skip(1), p => Assert.True(p.RequiresGrad));
    }
}
