namespace Fuselage;

/// <summary>How a finished reply leaves: each transport implements it. Called on the worker that owns the
/// request when the method completed synchronously, from any thread when it completed later.</summary>
internal interface IReplySink
{
    /// <summary>Sends <see cref="Request.ReplyLength"/> bytes of the reply buffer (none when 0) and recycles the request.</summary>
    void Complete(Request request);
}
