import torch

from distill.students import BiLSTMClassifier, StudentConfig


def paper_student():
    return BiLSTMClassifier(StudentConfig(vocab_size=1000, embed_dim=300, multichannel=True, hidden=150,
                                          fc=200, num_labels=2))


def test_paper_configuration_has_963002_non_embedding_params():
    model = paper_student()
    assert model.num_params(non_embedding=True) == 963_002
    assert model.num_params(non_embedding=False) == 963_002 + 2 * 1000 * 300


def test_output_shape_and_frozen_static_channel():
    model = paper_student()
    ids = torch.randint(1, 1000, (4, 9))
    out = model(ids, torch.tensor([9, 5, 1, 3]))
    assert out.shape == (4, 2)
    out.sum().backward()
    assert model.embed_static.weight.grad is None and model.embed.weight.grad is not None


def test_sentence_gets_same_logits_alone_and_in_a_padded_batch():
    torch.manual_seed(0)
    model = BiLSTMClassifier(StudentConfig(vocab_size=50, embed_dim=16, hidden=12, fc=10)).eval()
    sentences = [torch.randint(1, 50, (n,)) for n in (7, 1, 4, 12)]
    alone = torch.cat([model(s[None], torch.tensor([len(s)])) for s in sentences])
    for width in (12, 20):  # pad to the longest, and further (a fixed-length mobile export)
        ids = torch.zeros(len(sentences), width, dtype=torch.long)
        for i, s in enumerate(sentences):
            ids[i, :len(s)] = s
        batched = model(ids, torch.tensor([len(s) for s in sentences]))
        torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)


def test_backward_direction_reads_the_sentence_reversed():
    """The backward state must depend on the first token last: changing token 0 changes h_bwd."""
    torch.manual_seed(0)
    model = BiLSTMClassifier(StudentConfig(vocab_size=20, embed_dim=8, hidden=6, fc=5)).eval()
    a = torch.tensor([[3, 4, 5, 0, 0]])
    b = torch.tensor([[9, 4, 5, 0, 0]])
    ha, hb = model.encode(a, torch.tensor([3])), model.encode(b, torch.tensor([3]))
    assert not torch.allclose(ha[:, 6:], hb[:, 6:])
    c = torch.tensor([[3, 4, 5, 7, 7]])  # tokens past the length are ignored
    torch.testing.assert_close(model.encode(c, torch.tensor([3])), ha)
