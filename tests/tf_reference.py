"""A slow, per-neuron re-implementation of TensorFlow Playground's training rule, used as the tests' oracle.

It follows the original's structure (nodes and links, per-sample forward and backward, accumulated derivatives,
updates when (i+1) % batch == 0) in plain Python floats, with none of the engine's matrix tricks, so agreement
between the two is evidence that the fast engine computes the original's numbers.
"""

import math

ACTIVATION = {
    "tanh": (math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    "relu": (lambda x: max(0.0, x), lambda x: 0.0 if x <= 0 else 1.0),
    "sigmoid": (lambda x: 1 / (1 + math.exp(-x)), lambda x: (1 / (1 + math.exp(-x))) * (1 - 1 / (1 + math.exp(-x)))),
    "linear": (lambda x: x, lambda x: 1.0),
}
REGULARIZATION_DER = {
    "L1": lambda w: -1.0 if w < 0 else (1.0 if w > 0 else 0.0),
    "L2": lambda w: w,
}


class Link:
    def __init__(self, source, weight):
        self.source, self.weight = source, weight
        self.dead, self.acc, self.count = False, 0.0, 0


class Node:
    def __init__(self, activation, bias):
        self.activation, self.bias = activation, bias
        self.inputs, self.outputs = [], []
        self.total = self.output = self.output_der = self.input_der = 0.0
        self.acc, self.count = 0.0, 0


class ReferenceNetwork:
    def __init__(self, weights, biases, activation, output_activation, regularization="none"):
        """weights[layer][to][from], biases[layer][to], as in the engine's API."""
        self.regularization = regularization
        self.layers = [[Node("linear", 0.0) for _ in range(len(weights[0][0]))]]  # inputs: their values as given
        for index, (layer_w, layer_b) in enumerate(zip(weights, biases, strict=True)):
            act = output_activation if index == len(weights) - 1 else activation
            layer = []
            for w_row, b in zip(layer_w, layer_b, strict=True):
                node = Node(act, b)
                for source, w in zip(self.layers[-1], w_row, strict=True):
                    link = Link(source, w)
                    node.inputs.append(link)
                    source.outputs.append((link, node))
                layer.append(node)
            self.layers.append(layer)

    def forward(self, inputs):
        for node, value in zip(self.layers[0], inputs, strict=True):
            node.output = value
        for layer in self.layers[1:]:
            for node in layer:
                node.total = node.bias
                for link in node.inputs:
                    node.total += link.weight * link.source.output
                node.output = ACTIVATION[node.activation][0](node.total)
        return self.layers[-1][0].output

    def backward(self, target):
        out = self.layers[-1][0]
        out.output_der = out.output - target
        for index in range(len(self.layers) - 1, 0, -1):
            for node in self.layers[index]:
                node.input_der = node.output_der * ACTIVATION[node.activation][1](node.total)
                node.acc += node.input_der
                node.count += 1
            for node in self.layers[index]:
                for link in node.inputs:
                    if not link.dead:
                        link.acc += node.input_der * link.source.output
                        link.count += 1
            if index == 1:
                continue
            for node in self.layers[index - 1]:
                node.output_der = sum(link.weight * dest.input_der for link, dest in node.outputs)

    def update(self, learning_rate, regularization_rate):
        for layer in self.layers[1:]:
            for node in layer:
                if node.count > 0:
                    node.bias -= learning_rate * node.acc / node.count
                    node.acc, node.count = 0.0, 0
                for link in node.inputs:
                    if link.dead:
                        continue
                    der = REGULARIZATION_DER[self.regularization](link.weight) if self.regularization != "none" else 0
                    if link.count > 0:
                        link.weight = link.weight - (learning_rate / link.count) * link.acc
                        new = link.weight - (learning_rate * regularization_rate) * der
                        if self.regularization == "L1" and link.weight * new < 0:
                            link.weight, link.dead = 0.0, True
                        else:
                            link.weight = new
                        link.acc, link.count = 0.0, 0

    def epoch(self, inputs, labels, batch_size, learning_rate, regularization_rate):
        for i, (x, y) in enumerate(zip(inputs, labels, strict=True)):
            self.forward(x)
            self.backward(y)
            if (i + 1) % batch_size == 0:
                self.update(learning_rate, regularization_rate)

    def loss(self, inputs, labels):
        return sum(0.5 * (self.forward(x) - y) ** 2 for x, y in zip(inputs, labels, strict=True)) / len(inputs)

    def parameters(self):
        weights = [[[link.weight for link in node.inputs] for node in layer] for layer in self.layers[1:]]
        biases = [[node.bias for node in layer] for layer in self.layers[1:]]
        dead = [[[link.dead for link in node.inputs] for node in layer] for layer in self.layers[1:]]
        return weights, biases, dead
