namespace MiBounds.Toy.Tasks.Synthetic;

/// <summary>Lists the fixed synthetic tasks (<see cref="SyntheticTasks"/> and <see cref="BmiTasks"/>) in the <c>tasks</c> command.</summary>
public sealed class SyntheticTaskCatalog : IMiTaskCatalog
{
    /// <inheritdoc />
    public IEnumerable<IMiTask> Tasks() => SyntheticTasks.All().Concat(BmiTasks.All());
}

/// <summary>The dense multivariate normal at any dimension and MI (for <c>sweep --task normal-dense</c>).</summary>
public sealed class DenseNormalTaskFactory : IMiTaskFactory
{
    /// <inheritdoc />
    public string Name => "normal-dense";

    /// <inheritdoc />
    public string Summary => "(x, y) jointly normal with a random dense covariance (dx = dy = d); I = ½(log|Σxx| + log|Σyy| − log|Σ|)";

    /// <inheritdoc />
    public IMiTask Create(int dim, double mi) => DenseGaussianTask.WithMi(dim, dim, mi, seed: 7, name: "normal-dense");
}

/// <summary>Student-t pairs with ν = 5 at any dimension; MI levels below the shared-scale term are not reachable.</summary>
public sealed class StudentTTaskFactory : IMiTaskFactory
{
    private const double Nu = 5;

    /// <inheritdoc />
    public string Name => "student-t";

    /// <inheritdoc />
    public string Summary => "multivariate Student-t (ν = 5) with paired correlation ρ; I = −(d/2)·log(1−ρ²) + shared-scale term";

    /// <inheritdoc />
    public IMiTask Create(int dim, double mi)
    {
        double scaleTerm = StudentTTask.ClosedFormMi(dim, dim, Nu, 0);
        if (!(mi > scaleTerm)) throw new ArgumentException($"Student-t (ν = {Nu}) in d = {dim} already shares {scaleTerm:G4} nats through its scale; ask for more");
        double rho = Math.Sqrt(1 - Math.Exp(-2 * (mi - scaleTerm) / dim));
        return new StudentTTask(dim, Nu, rho, name: "student-t");
    }
}

/// <summary>Additive uniform noise at any dimension and MI (ε solved from the per-coordinate MI).</summary>
public sealed class UniformNoiseTaskFactory : IMiTaskFactory
{
    /// <inheritdoc />
    public string Name => "uniform-noise";

    /// <inheritdoc />
    public string Summary => "x ~ U(0,1)^d, y = x + U(0,ε)^d; I = d·(ε/2 − log ε) for ε ≤ 1, d/(2ε) above";

    /// <inheritdoc />
    public IMiTask Create(int dim, double mi)
    {
        if (!(mi > 0) || double.IsInfinity(mi)) throw new ArgumentException("MI must be positive and finite");
        double perCoordinate = mi / dim;
        double epsilon;
        if (perCoordinate <= 0.5) epsilon = 1 / (2 * perCoordinate);
        else
        {
            double lo = 1e-300, hi = 1; // ε/2 − log ε decreases on (0, 1]
            for (int i = 0; i < 200; i++)
            {
                double mid = Math.Sqrt(lo * hi);
                if (mid / 2 - Math.Log(mid) > perCoordinate) lo = mid; else hi = mid;
            }
            epsilon = Math.Sqrt(lo * hi);
        }
        return new AdditiveUniformNoiseTask(dim, epsilon, name: "uniform-noise");
    }
}

/// <summary>The dense normal with the half-cube map on every coordinate.</summary>
public sealed class HalfCubeNormalTaskFactory : IMiTaskFactory
{
    /// <inheritdoc />
    public string Name => "halfcube-normal";

    /// <inheritdoc />
    public string Summary => "normal-dense with t ↦ sign(t)·|t|^1.5 on every coordinate (MI unchanged)";

    /// <inheritdoc />
    public IMiTask Create(int dim, double mi) => new TransformedTask(new DenseNormalTaskFactory().Create(dim, mi), CoordinateMap.HalfCube, "halfcube-normal");
}

/// <summary>The dense normal with the wiggly map on every coordinate.</summary>
public sealed class WigglyNormalTaskFactory : IMiTaskFactory
{
    /// <inheritdoc />
    public string Name => "wiggly-normal";

    /// <inheritdoc />
    public string Summary => "normal-dense with t ↦ t + 0.4·sin(t) + 0.2·sin(2t + 1) on every coordinate (MI unchanged)";

    /// <inheritdoc />
    public IMiTask Create(int dim, double mi) => new TransformedTask(new DenseNormalTaskFactory().Create(dim, mi), CoordinateMap.Wiggly, "wiggly-normal");
}
