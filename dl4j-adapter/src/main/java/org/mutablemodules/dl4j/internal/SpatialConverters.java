package org.mutablemodules.dl4j.internal;

import org.deeplearning4j.nn.conf.layers.SpaceToDepthLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling1D;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPadding1DLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping1D;
import org.deeplearning4j.nn.conf.layers.convolutional.Cropping2D;

/** Converters of DL4J's parameterless layers that change the spatial or temporal size of activations. */
final class SpatialConverters {

    private SpatialConverters() {
    }

    /** Not converted yet (being written). */
    static final LayerConverter<ZeroPaddingLayer> ZERO_PADDING = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<ZeroPadding1DLayer> ZERO_PADDING_1D = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<Cropping2D> CROPPING = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<Cropping1D> CROPPING_1D = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<Upsampling2D> UPSAMPLING = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<Upsampling1D> UPSAMPLING_1D = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };

    /** Not converted yet (being written). */
    static final LayerConverter<SpaceToDepthLayer> SPACE_TO_DEPTH = (ctx, layer, input) -> {
        throw ctx.unsupported("the layer type " + layer.getClass().getSimpleName(), LayerConverters.supported());
    };
}
