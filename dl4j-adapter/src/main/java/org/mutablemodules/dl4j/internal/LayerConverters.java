package org.mutablemodules.dl4j.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1D;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GravesLSTM;
import org.deeplearning4j.nn.conf.layers.LocalResponseNormalization;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling1DLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution2D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.CapsuleLayer;
import org.deeplearning4j.nn.conf.layers.CapsuleStrengthLayer;
import org.deeplearning4j.nn.conf.layers.LearnedSelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.LocallyConnected1D;
import org.deeplearning4j.nn.conf.layers.LocallyConnected2D;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PrimaryCapsules;
import org.deeplearning4j.nn.conf.layers.RecurrentAttentionLayer;
import org.deeplearning4j.nn.conf.layers.SelfAttentionLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLambdaLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffOutputLayer;
import org.deeplearning4j.nn.conf.layers.util.MaskZeroLayer;

/**
 * The registry of layer converters: one line per supported DL4J layer class (matched exactly, not by subclass; DL4J's
 * own SameDiff-based layers, such as {@code SelfAttentionLayer}, through their {@code defineLayer} as users' layers),
 * and one per base class of the layers users write in SameDiff (matched by subclass, in order, for classes outside
 * DL4J). Any other layer class of a user's is refused as a layer written in Java.
 */
@SuppressWarnings("deprecation")    // GravesLSTM is deprecated in DL4J, but networks (and the zoo) still use it
final class LayerConverters {

    private static final Map<Class<? extends Layer>, LayerConverter<? extends Layer>> CONVERTERS = new LinkedHashMap<>();

    static {
        register(DenseLayer.class, FeedForwardConverters.DENSE);
        register(OutputLayer.class, FeedForwardConverters.OUTPUT);
        register(LossLayer.class, FeedForwardConverters.LOSS);
        register(ActivationLayer.class, FeedForwardConverters.ACTIVATION);
        register(DropoutLayer.class, FeedForwardConverters.DROPOUT);
        register(ConvolutionLayer.class, ConvolutionConverters.CONVOLUTION);
        register(Convolution2D.class, ConvolutionConverters.CONVOLUTION);
        register(SubsamplingLayer.class, ConvolutionConverters.SUBSAMPLING);
        register(BatchNormalization.class, NormalizationAndPoolingConverters.BATCH_NORM);
        register(GlobalPoolingLayer.class, NormalizationAndPoolingConverters.GLOBAL_POOLING);
        register(EmbeddingLayer.class, EmbeddingConverters.EMBEDDING);
        register(EmbeddingSequenceLayer.class, EmbeddingConverters.EMBEDDING_SEQUENCE);
        register(LSTM.class, RecurrentConverters.LSTM_LAYER);
        register(SimpleRnn.class, RecurrentConverters.SIMPLE_RNN);
        register(RnnOutputLayer.class, RecurrentConverters.RNN_OUTPUT);
        register(LastTimeStep.class, RecurrentConverters.LAST_TIME_STEP);
        register(Bidirectional.class, RecurrentConverters.BIDIRECTIONAL);
        register(MaskZeroLayer.class, RecurrentConverters.MASK_ZERO);
        register(Deconvolution2D.class, ConvolutionConverters.DECONVOLUTION);
        register(DepthwiseConvolution2D.class, ConvolutionConverters.DEPTHWISE);
        register(SeparableConvolution2D.class, ConvolutionConverters.SEPARABLE);
        register(Convolution1DLayer.class, ConvolutionConverters.CONVOLUTION_1D);
        register(Convolution1D.class, ConvolutionConverters.CONVOLUTION_1D);
        register(Subsampling1DLayer.class, ConvolutionConverters.SUBSAMPLING_1D);
        register(ZeroPaddingLayer.class, SpatialConverters.ZERO_PADDING);
        register(ZeroPadding1DLayer.class, SpatialConverters.ZERO_PADDING_1D);
        register(Cropping2D.class, SpatialConverters.CROPPING);
        register(Cropping1D.class, SpatialConverters.CROPPING_1D);
        register(Upsampling2D.class, SpatialConverters.UPSAMPLING);
        register(Upsampling1D.class, SpatialConverters.UPSAMPLING_1D);
        register(SpaceToDepthLayer.class, SpatialConverters.SPACE_TO_DEPTH);
        register(LocalResponseNormalization.class, NormalizationAndPoolingConverters.LOCAL_RESPONSE_NORMALIZATION);
        register(PReLULayer.class, FeedForwardConverters.PRELU);
        register(CnnLossLayer.class, OutputLayerConverters.CNN_LOSS);
        register(RnnLossLayer.class, OutputLayerConverters.RNN_LOSS);
        register(CenterLossOutputLayer.class, OutputLayerConverters.CENTER_LOSS_OUTPUT);
        register(Yolo2OutputLayer.class, OutputLayerConverters.YOLO2_OUTPUT);
        register(GravesLSTM.class, RecurrentConverters.GRAVES_LSTM);
        register(FrozenLayer.class, WrapperConverters.FROZEN);
        register(FrozenLayerWithBackprop.class, WrapperConverters.FROZEN_WITH_BACKPROP);
        // DL4J's own SameDiff-based layers: their defineLayer, as a user's SameDiffLayer
        register(SelfAttentionLayer.class, CustomLayerConverters.SAME_DIFF_LAYER);
        register(LearnedSelfAttentionLayer.class, CustomLayerConverters.LEARNED_SELF_ATTENTION);
        register(RecurrentAttentionLayer.class, CustomLayerConverters.SAME_DIFF_LAYER);
        register(LocallyConnected1D.class, CustomLayerConverters.SAME_DIFF_LAYER);
        register(LocallyConnected2D.class, CustomLayerConverters.SAME_DIFF_LAYER);
        register(PrimaryCapsules.class, CustomLayerConverters.SAME_DIFF_LAYER);
        register(CapsuleLayer.class, CustomLayerConverters.SAME_DIFF_LAYER);
        register(CapsuleStrengthLayer.class, CustomLayerConverters.SAME_DIFF_LAYER);
    }

    private static final Map<Class<? extends Layer>, LayerConverter<? extends Layer>> SUBCLASS_CONVERTERS =
            new LinkedHashMap<>();

    static {
        registerSubclasses(SameDiffOutputLayer.class, CustomLayerConverters.SAME_DIFF_OUTPUT_LAYER);
        registerSubclasses(SameDiffLayer.class, CustomLayerConverters.SAME_DIFF_LAYER);     // SameDiffLambdaLayer too
    }

    private LayerConverters() {
    }

    private static <L extends Layer> void register(Class<L> type, LayerConverter<? super L> converter) {
        CONVERTERS.put(type, converter);
    }

    private static <L extends Layer> void registerSubclasses(Class<L> base, LayerConverter<? super L> converter) {
        SUBCLASS_CONVERTERS.put(base, converter);
    }

    /** The simple names of the supported layer classes, then the base classes of users' own SameDiff layers. */
    static List<String> supported() {
        List<String> names = new ArrayList<>();
        for (Class<?> c : CONVERTERS.keySet()) {
            names.add(c.getSimpleName());
        }
        names.add("subclasses of " + SameDiffLayer.class.getSimpleName() + ", "
                + SameDiffLambdaLayer.class.getSimpleName() + " and " + SameDiffOutputLayer.class.getSimpleName());
        return Collections.unmodifiableList(names);
    }

    /** Converts {@code layer}, or throws {@link org.mutablemodules.dl4j.UnsupportedLayerException}. */
    @SuppressWarnings("unchecked")
    static LayerOutput convert(ConversionContext ctx, Layer layer, LayerOutput input) {
        LayerConverter<Layer> converter = (LayerConverter<Layer>) CONVERTERS.get(layer.getClass());
        if (converter == null && CustomLayerConverters.isUserWritten(layer.getClass())) {
            converter = (LayerConverter<Layer>) SUBCLASS_CONVERTERS.entrySet().stream()
                    .filter(e -> e.getKey().isInstance(layer)).map(Map.Entry::getValue).findFirst().orElse(null);
        }
        if (converter == null) {
            if (CustomLayerConverters.isUserWritten(layer.getClass())) {
                throw ctx.cannotConvert(CustomLayerConverters.javaLayerProblem(layer.getClass()), null);
            }
            throw ctx.unsupported("the layer type " + layer.getClass().getName(), supported());
        }
        // frozen layers run what they wrap at inference, without dropout
        boolean frozen = layer instanceof FrozenLayer || layer instanceof FrozenLayerWithBackprop;
        if (ctx.training() && !frozen && (layer.getIDropout() != null || layer instanceof DropoutLayer)) {
            throw ctx.unsupported("dropout in training mode (random in DL4J's training, so not a function of the "
                    + "parameters)", List.of("networks without dropout in training mode", "the inference mode, where "
                    + "dropout is the identity"));
        }
        return SequenceMasks.convert(ctx, layer, input, converter);
    }
}
