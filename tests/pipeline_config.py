"""The tiny pipeline config the pipeline tests share: stages 1-3 on a tiny random BERT and 160 examples;
each test adds its task and its student rows."""

STAGES = """
[teacher]
model = "{teacher}"
epochs = 1.0
train_limit = 160
batch_size = 16
max_length = {max_length}
eval_every = 5

[augment]
n_iter = {n_iter}
train_limit = 160

[label]
chunk_size = 100
batch_size = 32
"""


def tiny_config(task: str, teacher, students: str, jobs: int = 1, max_length: int = 32, n_iter: int = 2) -> str:
    return (f'[run]\ntask = "{task}"\njobs = {jobs}\n' + STAGES.format(teacher=teacher, max_length=max_length,
                                                                        n_iter=n_iter) + students)
