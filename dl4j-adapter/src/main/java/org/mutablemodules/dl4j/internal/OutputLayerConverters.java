package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.layers.CenterLossOutputLayer;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.conf.layers.RnnLossLayer;
import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;

/** Converters of DL4J's output and loss layers beyond the dense ones: per-pixel, per-time-step, centre loss, YOLO. */
final class OutputLayerConverters {

    private OutputLayerConverters() {
    }

    /** Not converted yet (being written). */
    static final LayerConverter<CnnLossLayer> CNN_LOSS = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<RnnLossLayer> RNN_LOSS = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<CenterLossOutputLayer> CENTER_LOSS_OUTPUT = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<Yolo2OutputLayer> YOLO2_OUTPUT = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };
}
