package org.mutablemodules.dl4j.internal;

import java.util.List;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * DL4J's input pre-processors as reshapes. Time series are flattened as DL4J does: row {@code t * N + i} of the
 * [N*T, n] matrix is example {@code i} at time {@code t}.
 */
final class Preprocessors {

    static final List<String> SUPPORTED = List.of("CnnToFeedForwardPreProcessor", "FeedForwardToCnnPreProcessor",
            "RnnToFeedForwardPreProcessor", "FeedForwardToRnnPreProcessor");

    private Preprocessors() {
    }

    static LayerOutput apply(ConversionContext ctx, InputPreProcessor p, LayerOutput in) {
        SameDiff sd = ctx.sd();
        SDVariable x = in.value();
        if (in.mask() != null && !(p instanceof RnnToFeedForwardPreProcessor)
                && !(p instanceof FeedForwardToRnnPreProcessor)) {
            throw SequenceMasks.refused(ctx);
        }
        if (p instanceof CnnToFeedForwardPreProcessor) {
            CnnToFeedForwardPreProcessor c = (CnnToFeedForwardPreProcessor) p;
            // DL4J (like Keras) flattens in 'c' order whatever the data format.
            return new LayerOutput(x.reshape(-1, c.getInputHeight() * c.getInputWidth() * c.getNumChannels()), 2);
        } else if (p instanceof FeedForwardToCnnPreProcessor) {
            FeedForwardToCnnPreProcessor c = (FeedForwardToCnnPreProcessor) p;
            return new LayerOutput(x.reshape(-1, c.getNumChannels(), c.getInputHeight(), c.getInputWidth()), 4);
        } else if (p instanceof RnnToFeedForwardPreProcessor) {
            if (in.rank() == 2) {
                return in;      // DL4J passes rank-2 input through (e.g. after global pooling)
            }
            boolean nwc = ((RnnToFeedForwardPreProcessor) p).getRnnDataFormat() == RNNFormat.NWC;
            SDVariable timeMajor = nwc ? sd.permute(x, 1, 0, 2) : sd.permute(x, 2, 0, 1);   // [T, N, n]
            SDVariable shape = sd.concat(0, ctx.longVector(-1), ctx.dimension(timeMajor, 2));
            return new LayerOutput(sd.reshape(timeMajor, shape), 2,
                    in.mask() == null ? null : SequenceMasks.rows(in.mask()));
        } else if (p instanceof FeedForwardToRnnPreProcessor) {
            boolean nwc = ((FeedForwardToRnnPreProcessor) p).getRnnDataFormat() == RNNFormat.NWC;
            SDVariable shape = sd.concat(0, ctx.longVector(-1), ctx.dimension(ctx.networkInput(), 0),
                    ctx.dimension(x, 1));
            SDVariable timeMajor = sd.reshape(x, shape);
            return new LayerOutput(nwc ? sd.permute(timeMajor, 1, 0, 2) : sd.permute(timeMajor, 1, 2, 0), 3,
                    in.mask() == null ? null : SequenceMasks.series(ctx, in.mask()));
        }
        throw ctx.unsupported("the input pre-processor " + p.getClass().getSimpleName(), SUPPORTED);
    }
}
