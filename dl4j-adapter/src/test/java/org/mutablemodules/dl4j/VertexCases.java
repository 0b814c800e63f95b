package org.mutablemodules.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.mutablemodules.dl4j.Networks.Case;

/** Cases of {@link LayerParityTest}. */
final class VertexCases {

    private VertexCases() {
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        return cases;
    }
}
