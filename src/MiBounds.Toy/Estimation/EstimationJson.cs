using System.Text;
using System.Text.Json;
using MiBounds.Estimation;

namespace MiBounds.Toy.Estimation;

/// <summary>Writes estimation results as JSON (non-finite numbers become null).</summary>
internal static class EstimationJson
{
    /// <summary>The fields of the <c>estimate --json</c> object, in order.</summary>
    public static readonly string[] Fields = ["estimator", "estimate_nats", "stderr_nats", "estimate_bits", "train_nats", "warnings"];

    /// <summary>The one-object form printed by <c>estimate --json</c>.</summary>
    public static string Serialize(EstimationResult r, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            Write(w, r, details: true);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The result as an object: the schema's fields first, then (with <paramref name="details"/>) extra context.</summary>
    public static void Write(Utf8JsonWriter w, EstimationResult r, bool details)
    {
        w.WriteStartObject();
        w.WriteString("estimator", r.Estimator);
        Number(w, "estimate_nats", r.EstimateNats);
        Number(w, "stderr_nats", r.StderrNats);
        Number(w, "estimate_bits", r.EstimateBits);
        Number(w, "train_nats", r.TrainNats);
        w.WriteStartArray("warnings");
        foreach (var warning in r.Warnings) w.WriteStringValue(warning);
        w.WriteEndArray();
        if (details)
        {
            Number(w, "stderr_bits", r.StderrBits);
            w.WriteString("kind", r.Kind);
            w.WriteString("uncertainty", r.Uncertainty);
            w.WriteNumber("samples", r.Samples);
            w.WriteNumber("batch_size", r.BatchSize);
            w.WriteStartArray("folds");
            foreach (var f in r.Folds)
            {
                w.WriteStartObject();
                w.WriteNumber("train_rows", f.TrainRows);
                w.WriteNumber("held_out_rows", f.HeldOutRows);
                Number(w, "held_out_nats", f.HeldOutNats);
                Number(w, "train_nats", f.TrainNats);
                w.WriteNumber("best_step", f.BestStep);
                w.WriteNumber("steps_run", f.StepsRun);
                w.WriteString("stop_reason", f.StopReason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>A number, or null when it is NaN or infinite (JSON has neither).</summary>
    public static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }
}
